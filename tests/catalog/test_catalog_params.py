"""The catalog lists: `event_group_text_id` in every array form, one rule for empty values, and
`count` / `offset` on every list."""

from __future__ import annotations

import httpx
import pytest

from tests.catalog.test_catalog_reads import ALL_PROPERTIES, ids
from tests.fixtures.helpers import PURCHASE, REGISTRATION, invalid_params


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("event_group_text_id=shopping", [PURCHASE]),
        ("event_group_text_id=customers&event_group_text_id=shopping", [PURCHASE, REGISTRATION]),
        ("event_group_text_id[]=customers", [REGISTRATION]),
        ("event_group_text_id%5B%5D=customers", [REGISTRATION]),
        (
            "event_group_text_id[0]=customers&event_group_text_id[1]=shopping",
            [PURCHASE, REGISTRATION],
        ),
        ("event_group_text_id[1]=shopping&event_group_text_id[0]=nothing", [PURCHASE]),
        ("event_group_text_id=nothing&event_group_text_id[]=x&event_group_text_id[2]=y", []),
        ("event_group_text_id=customers&event_group_text_id[9]=customers", [REGISTRATION]),
        ("event_group_text_idx=customers", [PURCHASE, REGISTRATION]),  # another parameter
    ],
)
async def test_every_array_form(api: httpx.AsyncClient, query: str, expected: list[str]) -> None:
    response = await api.get(f"/event-types?{query}")
    assert ids(response, "event_types", "event_type_id") == expected
    assert response.json()["data"]["total_items"] == len(expected)


async def test_a_malformed_index_is_a_400_naming_it(api: httpx.AsyncClient) -> None:
    response = await api.get("/event-types?event_group_text_id[shop]=shopping")
    assert invalid_params(response) == [
        {
            "name": "event_group_text_id[shop]",
            "reason": "invalid_value_format",
            "value": "shopping",
            "message": "An array item is sent as name=value, name[]=value or name[N]=value "
            "(N a whole number).",
        }
    ]


async def test_at_most_a_thousand_group_text_ids_over_every_form(api: httpx.AsyncClient) -> None:
    forms = ["event_group_text_id={}", "event_group_text_id[]={}", "event_group_text_id[3]={}"]
    query = "&".join(forms[i % 3].format(f"g{i}") for i in range(1001))
    response = await api.get(f"/event-types?{query.rpartition('&')[0]}")  # 1000
    assert response.json() == {"data": {"event_types": [], "total_items": 0}}
    assert invalid_params(await api.get(f"/event-types?{query}")) == [
        {
            "name": "event_group_text_id",
            "reason": "not_allowed_value",
            "value": "1001",
            "message": "At most 1000 items are allowed.",
        }
    ]


LISTS = {
    "/event-groups": ["count", "offset", "sort_field", "sort_direction", "name", "text_id"],
    "/event-types": [
        "count",
        "offset",
        "sort_field",
        "sort_direction",
        "name",
        "text_id",
        "event_group_text_id",
        "event_group_text_id[]",
        "event_group_text_id[0]",
    ],
    "/event-properties": ["count", "offset", "sort_field", "sort_direction", "name"],
    f"/event-types/{PURCHASE}/event-properties": [
        "count",
        "offset",
        "sort_field",
        "sort_direction",
    ],
}


def empty_entry(name: str) -> dict[str, str]:
    return {
        "name": name.partition("[")[0],
        "reason": "empty",
        "value": "",
        "message": "The value must not be empty.",
    }


@pytest.mark.parametrize(
    ("path", "name"), [(path, name) for path, names in LISTS.items() for name in names]
)
async def test_an_empty_value_is_a_400_naming_it(
    api: httpx.AsyncClient, path: str, name: str
) -> None:
    response = await api.get(f"{path}?{name}=")
    assert invalid_params(response) == [empty_entry(name)]


@pytest.mark.parametrize("path", list(LISTS))
async def test_every_empty_value_is_listed_in_one_400(api: httpx.AsyncClient, path: str) -> None:
    names = LISTS[path]
    response = await api.get(path + "?" + "&".join(f"{name}=" for name in names))
    listed = invalid_params(response)
    assert sorted(p["name"] for p in listed) == sorted(name.partition("[")[0] for name in names)
    assert all(p == empty_entry(p["name"]) for p in listed)


@pytest.mark.parametrize(
    ("path", "key", "id_field", "every_id"),
    [
        ("/event-groups?sort_field=text_id", "event_groups", "text_id", ["customers", "shopping"]),
        ("/event-types?sort_field=text_id", "event_types", "text_id", ["purchase", "registration"]),
        (
            "/event-properties?sort_field=property_id",
            "event_properties",
            "property_id",
            ALL_PROPERTIES,
        ),
        (
            f"/event-types/{PURCHASE}/event-properties?sort_field=property_id",
            "event_properties",
            "property_id",
            ALL_PROPERTIES,
        ),
    ],
)
async def test_every_list_pages_with_count_and_offset(
    api: httpx.AsyncClient, path: str, key: str, id_field: str, every_id: list[str]
) -> None:
    for count, offset in [(1, 0), (1, 1), (2, 1), (100, 0), (3, len(every_id)), (1, 10_000)]:
        response = await api.get(f"{path}&count={count}&offset={offset}")
        assert ids(response, key, id_field) == every_id[offset : offset + count]
        assert response.json()["data"]["total_items"] == len(every_id)
    bad = await api.get(f"{path}&count=0&offset=-1")
    assert {(p["name"], p["reason"]) for p in invalid_params(bad)} == {
        ("count", "not_allowed_value"),
        ("offset", "not_allowed_value"),
    }
