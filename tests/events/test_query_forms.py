"""GET /events and GET /customers/{id}/events: `event_type_ids` in every form clients send, and
one rule for empty query values (a 400 `empty` naming the parameter)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.events.test_list_events import expected_order, seed
from tests.fixtures.helpers import PURCHASE, REGISTRATION, invalid_params

UNKNOWN_TYPE = "8bed991c68a470e7aaeffbf049"
# The two lists and the key of each; `seed` gives customer c2 one REGISTRATION and two PURCHASE.
LISTS = [("/events", "events"), ("/customers/c2/events", "customer_events")]
EMPTY_MESSAGE = "The value must not be empty."


def plain(ids: list[str]) -> str:
    return "&".join(f"event_type_ids={i}" for i in ids)


def bracket(ids: list[str]) -> str:
    return "&".join(f"event_type_ids[]={i}" for i in ids)


def encoded_bracket(ids: list[str]) -> str:
    return "&".join(f"event_type_ids%5B%5D={i}" for i in ids)


def indexed(ids: list[str]) -> str:
    return "&".join(f"event_type_ids[{n}]={i}" for n, i in enumerate(ids))


def mixed(ids: list[str]) -> str:
    forms = ["event_type_ids={}", "event_type_ids[]={}", "event_type_ids[7]={}"]
    return "&".join(forms[n % 3].format(i) for n, i in enumerate(ids))


FORMS = [plain, bracket, encoded_bracket, indexed, mixed]


async def get_list(api: httpx.AsyncClient, path: str, key: str, query: str) -> dict[str, Any]:
    response = await api.get(f"{path}?{query}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    assert set(data) == {key, "total_items"}
    return data


@pytest.mark.parametrize(("path", "key"), LISTS)
@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "type_ids",
    [
        [REGISTRATION],
        [PURCHASE, REGISTRATION],
        [UNKNOWN_TYPE, REGISTRATION, REGISTRATION],
    ],
)
async def test_every_form_filters_alike(
    api: httpx.AsyncClient,
    path: str,
    key: str,
    form: Callable[[list[str]], str],
    type_ids: list[str],
) -> None:
    events = await seed(api)
    customer = "c2" if "customers" in path else None
    chosen = [
        e for e in events if e["event_type_id"] in type_ids and customer in (None, e["customer_id"])
    ]
    data = await get_list(api, path, key, form(type_ids))
    assert [e["event_id"] for e in data[key]] == expected_order(chosen, "created_at", False)
    assert data["total_items"] == len(chosen)
    assert data == await get_list(api, path, key, bracket(type_ids))  # the documented form


@pytest.mark.parametrize(("path", "key"), LISTS)
async def test_a_single_plain_value_filters(api: httpx.AsyncClient, path: str, key: str) -> None:
    """The bug: `?event_type_ids=<id>` was ignored and every event listed."""
    await seed(api)
    data = await get_list(api, path, key, f"event_type_ids={REGISTRATION}")
    assert {e["event_type_id"] for e in data[key]} == {REGISTRATION}
    assert data["total_items"] == (2 if key == "events" else 1)


@pytest.mark.parametrize(("path", "key"), LISTS)
async def test_forms_combine_with_event_type_id(
    api: httpx.AsyncClient, path: str, key: str
) -> None:
    await seed(api)
    query = f"event_type_id={PURCHASE}&event_type_ids={REGISTRATION}&event_type_ids[0]={PURCHASE}"
    data = await get_list(api, path, key, query)
    assert {e["event_type_id"] for e in data[key]} == {PURCHASE}
    assert data["total_items"] == (4 if key == "events" else 2)
    nothing = f"event_type_id={PURCHASE}&event_type_ids[3]={REGISTRATION}"
    assert await get_list(api, path, key, nothing) == {key: [], "total_items": 0}


@pytest.mark.parametrize(("path", "key"), LISTS)
@pytest.mark.parametrize(
    "bad_key", ["event_type_ids[x]", "event_type_ids[0][1]", "event_type_ids["]
)
async def test_a_malformed_index_is_a_400_naming_it(
    api: httpx.AsyncClient, path: str, key: str, bad_key: str
) -> None:
    response = await api.get(f"{path}?event_type_ids={PURCHASE}&{bad_key}={REGISTRATION}")
    assert invalid_params(response) == [
        {
            "name": bad_key,
            "reason": "invalid_value_format",
            "value": REGISTRATION,
            "message": "An array item is sent as name=value, name[]=value or name[N]=value "
            "(N a whole number).",
        }
    ]


@pytest.mark.parametrize(("path", "key"), LISTS)
async def test_at_most_a_thousand_ids_over_every_form(
    api: httpx.AsyncClient, path: str, key: str
) -> None:
    ids = [f"type{i:04d}" for i in range(1001)]
    at_limit = await get_list(api, path, key, mixed(ids[:1000]))
    assert at_limit == {key: [], "total_items": 0}
    response = await api.get(f"{path}?{mixed(ids)}")
    assert invalid_params(response) == [
        {
            "name": "event_type_ids",
            "reason": "not_allowed_value",
            "value": "1001",
            "message": "At most 1000 items are allowed.",
        }
    ]


@pytest.mark.parametrize(("path", "key"), LISTS)
async def test_each_value_is_checked_whatever_its_form(
    api: httpx.AsyncClient, path: str, key: str
) -> None:
    long = "x" * 256
    response = await api.get(
        f"{path}?event_type_ids=a%00b&event_type_ids[]={long}&event_type_ids[2]="
    )
    assert [(p["name"], p["reason"], p["value"]) for p in invalid_params(response)] == [
        ("event_type_ids", "invalid_value_format", "a\\u0000b"),
        ("event_type_ids", "not_allowed_value", long[:200] + "…"),
        ("event_type_ids", "empty", ""),
    ]


# -- empty values --------------------------------------------------------------------------------

EVENTS_PARAMS = [
    "count",
    "offset",
    "sort_field",
    "sort_direction",
    "event_type_id",
    "customer_id",
    "external_id",
    "event_type_ids",
    "event_type_ids[]",
    "event_type_ids[0]",
    "include_property_records",
    "time_from",
    "time_to",
]
CUSTOMER_PARAMS = [name for name in EVENTS_PARAMS if name != "customer_id"]


def empty_entry(name: str) -> dict[str, str]:
    return {"name": name, "reason": "empty", "value": "", "message": EMPTY_MESSAGE}


@pytest.mark.parametrize(
    ("path", "name"),
    [("/events", name) for name in EVENTS_PARAMS]
    + [("/customers/c2/events", name) for name in CUSTOMER_PARAMS],
)
async def test_an_empty_value_is_a_400_naming_it(
    api: httpx.AsyncClient, path: str, name: str
) -> None:
    response = await api.get(f"{path}?{name}=")
    assert invalid_params(response) == [empty_entry(name.partition("[")[0])]


@pytest.mark.parametrize(
    ("path", "names"), [("/events", EVENTS_PARAMS), ("/customers/c2/events", CUSTOMER_PARAMS)]
)
async def test_every_empty_value_is_listed_in_one_400(
    api: httpx.AsyncClient, path: str, names: list[str]
) -> None:
    response = await api.get(path + "?" + "&".join(f"{name}=" for name in names))
    listed = invalid_params(response)
    assert sorted(p["name"] for p in listed) == sorted(name.partition("[")[0] for name in names)
    assert all(p == empty_entry(p["name"]) for p in listed)


async def test_a_customer_id_query_parameter_is_not_one_of_customer_events(
    api: httpx.AsyncClient,
) -> None:
    """The customer is in the path; `customer_id` in the query is unknown there, so ignored."""
    await seed(api)
    data = await get_list(api, "/customers/c2/events", "customer_events", "customer_id=")
    assert data["total_items"] == 3
