"""GET /event-groups, /event-types, /event-properties: filters, order, pages, errors, spec."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.catalog.export import export
from events_api.catalog.service import read_file
from tests.events.test_contract import SPEC, _lenient, check
from tests.fixtures.helpers import (
    DEMO_CATALOG,
    PURCHASE,
    REGISTRATION,
    catalog_snapshot,
    invalid_params,
    load_catalog,
    reasons,
)

SHOPPING = "86e05affc7a7abefc513ab4aa0"
CUSTOMERS = "86e05affc7a7abefc513ab4aa1"
ALL_PROPERTIES = [
    "amount",
    "channels",
    "has_purchase",
    "items_count",
    "note",
    "purchase_date",
    "tier",
]


def ids(response: httpx.Response, key: str, id_field: str) -> list[str]:
    assert response.status_code == 200, response.text
    return [entry[id_field] for entry in response.json()["data"][key]]


async def test_event_groups_list_and_one(api: httpx.AsyncClient) -> None:
    response = await api.get("/event-groups")
    assert response.json() == {
        "data": {
            "event_groups": [  # default order: name
                {
                    "event_group_id": CUSTOMERS,
                    "name": "Customers",
                    "text_id": "customers",
                    "state": 1,
                },
                {"event_group_id": SHOPPING, "name": "Shopping", "text_id": "shopping", "state": 1},
            ],
            "total_items": 2,
        }
    }
    one = await api.get(f"/event-groups/{SHOPPING}")
    assert one.json() == {
        "data": {"event_group_id": SHOPPING, "name": "Shopping", "text_id": "shopping", "state": 1}
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "shop"}, [SHOPPING]),  # part of the name, any letter case
        ({"name": "OMER"}, [CUSTOMERS]),
        ({"text_id": "customers"}, [CUSTOMERS]),
        ({"text_id": "custom"}, []),  # text_id is exact
        ({"name": "s", "text_id": "shopping"}, [SHOPPING]),
        ({"sort_field": "text_id", "sort_direction": "desc"}, [SHOPPING, CUSTOMERS]),
        ({"sort_field": "event_group_id"}, [SHOPPING, CUSTOMERS]),
        ({"count": 1, "offset": 1}, [SHOPPING]),
    ],
)
async def test_event_groups_filters(
    api: httpx.AsyncClient, params: dict[str, Any], expected: list[str]
) -> None:
    assert ids(await api.get("/event-groups", params=params), "event_groups", "event_group_id") == (
        expected
    )


async def test_event_types_list_and_one(api: httpx.AsyncClient) -> None:
    response = await api.get("/event-types")
    data = response.json()["data"]
    assert data["total_items"] == 2
    assert data["event_types"][0] == {
        "event_type_id": PURCHASE,
        "event_group_id": SHOPPING,
        "event_group_text_id": "shopping",
        "name": "Purchase",
        "text_id": "purchase",
        "icon_name": "shopping_cart",
        "state": 1,
    }
    one = await api.get(f"/event-types/{REGISTRATION}")
    assert one.json()["data"]["text_id"] == "registration"
    assert one.json()["data"]["event_group_text_id"] == "customers"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("event_group_text_id=customers", [REGISTRATION]),
        (
            "event_group_text_id[]=customers&event_group_text_id[]=shopping",
            [PURCHASE, REGISTRATION],
        ),
        ("event_group_text_id=customers&event_group_text_id[]=shopping", [PURCHASE, REGISTRATION]),
        ("event_group_text_id[]=nothing", []),
        ("name=regis", [REGISTRATION]),
        ("text_id=purchase", [PURCHASE]),
        ("text_id=purchase&event_group_text_id=customers", []),
        ("sort_field=name&sort_direction=DESC", [REGISTRATION, PURCHASE]),
        ("sort_field=event_group_text_id", [REGISTRATION, PURCHASE]),
        ("sort_field=icon_name", [REGISTRATION, PURCHASE]),
        ("count=1", [PURCHASE]),
        ("offset=2", []),
    ],
)
async def test_event_types_filters(api: httpx.AsyncClient, query: str, expected: list[str]) -> None:
    assert ids(await api.get(f"/event-types?{query}"), "event_types", "event_type_id") == expected


async def test_event_properties_list_and_one(api: httpx.AsyncClient) -> None:
    response = await api.get("/event-properties", params={"sort_field": "property_id"})
    assert ids(response, "event_properties", "property_id") == ALL_PROPERTIES
    assert response.json()["data"]["total_items"] == 7
    one = (await api.get("/event-properties/tier")).json()["data"]
    assert {k: v for k, v in one.items() if k != "last_change"} == {
        "property_id": "tier",
        "name": "Tier",
        "description": None,
        "data_type": "enum",
        "items": [
            {"id": "1", "name": "Gold", "resource_record_id": None, "state": 1},
            {"id": "2", "name": "Silver", "resource_record_id": None, "state": 1},
        ],
        "is_required": False,
        "is_unique": False,
        "state": 1,
    }
    assert len(one["last_change"]) == 19
    plain = (await api.get("/event-properties/has_purchase")).json()["data"]
    assert plain["items"] == []
    assert plain["description"] == "Whether the visit ended with a purchase"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "pur"}, ["has_purchase", "purchase_date"]),
        ({"name": "PURCHASE", "sort_direction": "DESC"}, ["purchase_date", "has_purchase"]),
        ({"sort_field": "data_type", "count": 2}, ["has_purchase", "purchase_date"]),
        ({"sort_field": "description", "count": 1}, ["has_purchase"]),  # NULLs last in ASC
        ({"sort_field": "description", "sort_direction": "DESC", "count": 1}, ["tier"]),
        ({"sort_field": "is_required", "count": 3}, ["amount", "channels", "has_purchase"]),
        ({"sort_field": "last_change", "count": 2}, ["amount", "channels"]),  # tie-breaker
    ],
)
async def test_event_properties_filters(
    api: httpx.AsyncClient, params: dict[str, Any], expected: list[str]
) -> None:
    response = await api.get("/event-properties", params=params)
    assert ids(response, "event_properties", "property_id") == expected


async def test_pages_never_overlap(api: httpx.AsyncClient) -> None:
    """Every property has the same last_change and state: only the tie-breaker orders them."""
    for field in ("state", "last_change", "is_unique"):
        for direction in ("ASC", "DESC"):
            seen: list[str] = []
            for offset in range(0, 7, 2):
                params = {
                    "sort_field": field,
                    "sort_direction": direction,
                    "count": 2,
                    "offset": offset,
                }
                page = await api.get("/event-properties", params=params)
                assert page.json()["data"]["total_items"] == 7
                seen += ids(page, "event_properties", "property_id")
            expected = ALL_PROPERTIES if direction == "ASC" else ALL_PROPERTIES[::-1]
            assert seen == expected


async def test_event_type_properties(api: httpx.AsyncClient) -> None:
    response = await api.get(f"/event-types/{REGISTRATION}/event-properties")
    assert ids(response, "event_properties", "property_id") == ["channels", "note"]
    assert response.json()["data"]["total_items"] == 2
    page = await api.get(
        f"/event-types/{PURCHASE}/event-properties",
        params={"sort_field": "property_id", "sort_direction": "DESC", "count": 2, "offset": 1},
    )
    assert ids(page, "event_properties", "property_id") == ["purchase_date", "note"]
    assert page.json()["data"]["total_items"] == 7


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/event-groups/0123456789abcdef0123456789", "event-groups"),
        ("/event-types/0123456789abcdef0123456789", "event-types"),
        ("/event-types/0123456789abcdef0123456789/event-properties", "event-types"),
        ("/event-properties/no_such_property", "event-properties"),
        ("/event-properties/%00", "event-properties"),
    ],
)
async def test_unknown_ids_are_404(api: httpx.AsyncClient, path: str, resource: str) -> None:
    response = await api.get(path)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["exception"] == "not_found_exception"
    assert error["error_data"]["resource_name"] == resource
    assert error["error_data"]["resource_id"] == path.split("/")[2].replace("%00", "\x00")


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        (
            "/event-groups",
            "count=0&offset=-1&sort_field=items&sort_direction=up&name=%00&text_id=" + "x" * 300,
            {
                ("count", "not_allowed_value"),
                ("offset", "not_allowed_value"),
                ("sort_field", "not_allowed_value"),
                ("sort_direction", "not_allowed_value"),
                ("name", "invalid_value_format"),
                ("text_id", "not_allowed_value"),
            },
        ),
        (
            "/event-types",
            "count=x&sort_field=event_group&event_group_text_id[]=%00&event_group_text_id=ok",
            {
                ("count", "invalid_value_format"),
                ("sort_field", "not_allowed_value"),
                ("event_group_text_id", "invalid_value_format"),
            },
        ),
        (
            "/event-properties",
            "offset=x&sort_field=items&name=" + "n" * 300,
            {
                ("offset", "invalid_value_format"),
                ("sort_field", "not_allowed_value"),
                ("name", "not_allowed_value"),
            },
        ),
        (
            f"/event-types/{PURCHASE}/event-properties",
            "count=100000&sort_direction=sideways",
            {("count", "not_allowed_value"), ("sort_direction", "not_allowed_value")},
        ),
    ],
)
async def test_every_bad_parameter_at_once(
    api: httpx.AsyncClient, path: str, query: str, expected: set[tuple[str, str]]
) -> None:
    assert reasons(await api.get(f"{path}?{query}")) == expected


async def test_too_many_group_text_ids(api: httpx.AsyncClient) -> None:
    query = "&".join(f"event_group_text_id[]=g{i}" for i in range(1001))
    [problem] = invalid_params(await api.get(f"/event-types?{query}"))
    assert (problem["name"], problem["reason"]) == ("event_group_text_id", "not_allowed_value")


@pytest.mark.parametrize(
    "path",
    [
        "/event-groups",
        f"/event-groups/{SHOPPING}",
        "/event-types",
        f"/event-types/{PURCHASE}",
        f"/event-types/{PURCHASE}/event-properties",
        "/event-properties",
        "/event-properties/tier",
    ],
)
async def test_read_only_and_authenticated(
    api: httpx.AsyncClient, anon: httpx.AsyncClient, path: str
) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = await api.request(method, path)
        assert response.status_code == 405
        assert response.headers["Allow"] == "GET, HEAD"  # main: HEAD is served wherever GET is
        assert response.json()["error"]["error_data"] == {"http_method": method}
    assert (await anon.get(path)).status_code == 401


async def _load(engine: AsyncEngine, data: dict[str, Any], prune: bool) -> None:
    await load_catalog(engine, data, prune=prune)


async def test_pruned_entries_stay_readable_in_state_0(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """`catalog load --prune`: what the file no longer lists is kept, deleted (state 0)."""
    only_purchase = {
        "event_groups": [{"name": "Shopping", "text_id": "shopping"}],
        "event_properties": [{"property_id": "note", "name": "Note", "data_type": "string"}],
        "event_types": [
            {
                "event_group": "shopping",
                "name": "Purchase",
                "text_id": "purchase",
                "event_properties": ["note", "amount"],  # amount: stored, not listed, in use
            }
        ],
    }
    await _load(engine, only_purchase, prune=False)  # without --prune nothing is deleted
    states = {
        t["text_id"]: t["state"]
        for t in (await api.get("/event-types")).json()["data"]["event_types"]
    }
    assert states == {"purchase": 1, "registration": 1}

    await _load(engine, only_purchase, prune=True)
    types = (await api.get("/event-types", params={"sort_field": "text_id"})).json()["data"]
    assert [(t["text_id"], t["state"]) for t in types["event_types"]] == [
        ("purchase", 1),
        ("registration", 0),
    ]
    assert (await api.get(f"/event-types/{REGISTRATION}")).json()["data"]["state"] == 0
    groups = (await api.get("/event-groups")).json()["data"]["event_groups"]
    assert {g["text_id"]: g["state"] for g in groups} == {"customers": 0, "shopping": 1}
    props = (await api.get("/event-properties", params={"count": 100})).json()["data"]
    assert {p["property_id"]: p["state"] for p in props["event_properties"]} == {
        "amount": 1,
        "note": 1,
        "has_purchase": 0,
        "items_count": 0,
        "purchase_date": 0,
        "tier": 0,
        "channels": 0,
    }
    deleted = (await api.get("/event-properties/tier")).json()["data"]
    assert deleted["state"] == 0
    # a deleted type accepts no events
    response = await api.post(
        "/events",
        json={"event": {"event_type_id": REGISTRATION, "customer_id": "c", "external_id": "1"}},
    )
    assert ("event_type_id", "not_found") in reasons(response)

    # listed again: active again
    async with engine.connect() as conn:
        before = (await conn.execute(text("SELECT count(*) FROM event_types"))).scalar_one()

    await load_catalog(engine, read_file(DEMO_CATALOG), prune=True)
    types = (await api.get("/event-types")).json()["data"]["event_types"]
    assert {t["state"] for t in types} == {1}
    assert len(types) == before
    groups = (await api.get("/event-groups")).json()["data"]["event_groups"]
    assert {g["state"] for g in groups} == {1}


async def test_reads_follow_catalog_changes(api: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """The per-process cache is dropped when the catalog changes."""
    assert (await api.get("/event-groups")).json()["data"]["total_items"] == 2
    await _load(engine, {"event_groups": [{"name": "New", "text_id": "new"}]}, prune=False)
    assert (await api.get("/event-groups")).json()["data"]["total_items"] == 3


@pytest.mark.skipif(not SPEC.is_file(), reason=f"reference spec not found at {SPEC}")
async def test_catalog_bodies_match_the_spec(api: httpx.AsyncClient) -> None:

    spec = _lenient(yaml.safe_load(SPEC.read_text(encoding="utf-8")))
    for path, url in (
        ("/event-groups", "/event-groups"),
        ("/event-groups/{event_group_id}", f"/event-groups/{SHOPPING}"),
        ("/event-types", "/event-types"),
        ("/event-types/{event_type_id}", f"/event-types/{PURCHASE}"),
        (
            "/event-types/{event_type_id}/event-properties",
            f"/event-types/{PURCHASE}/event-properties",
        ),
        ("/event-properties", "/event-properties"),
        ("/event-properties/{event_property_id}", "/event-properties/tier"),
    ):
        check(spec, await api.get(url), path, "get")
    check(spec, await api.get("/event-groups?count=0"), "/event-groups", "get")
    check(spec, await api.get("/event-types/nope"), "/event-types/{event_type_id}", "get")
    check(
        spec,
        await api.get("/event-types/nope/event-properties"),
        "/event-types/{event_type_id}/event-properties",
        "get",
    )


@pytest.mark.parametrize(
    "path",
    [
        "/event-groups",
        "/event-types",
        "/event-properties",
        f"/event-types/{PURCHASE}/event-properties",
    ],
)
async def test_empty_sort_parameters_are_refused(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(f"{path}?sort_field=&sort_direction=")
    assert reasons(response) == {
        ("sort_field", "empty"),
        ("sort_direction", "empty"),
    }


async def test_pruned_catalog_shows_and_loads_back_unchanged(engine: AsyncEngine) -> None:
    await load_catalog(engine, read_file(DEMO_CATALOG))
    await _load(engine, {"event_groups": [{"name": "New", "text_id": "new"}]}, prune=True)
    async with engine.connect() as conn:
        shown = await export(conn)
    assert {g["text_id"]: g.get("state", 1) for g in shown["event_groups"]} == {
        "customers": 0,
        "new": 1,
        "shopping": 0,
    }
    before = await catalog_snapshot(engine)
    await _load(engine, shown, prune=True)
    assert await catalog_snapshot(engine) == before
