"""GET /customers/{customer_id}/events: GET /events' parameters and behaviour, one customer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from tests.events.test_contract import SPEC, _lenient, check
from tests.events.test_list_events import seed
from tests.fixtures.helpers import PURCHASE, REGISTRATION, create, reasons

QUERIES: list[dict[str, Any]] = [
    {},
    {"event_type_id": PURCHASE},
    {"event_type_ids[]": [REGISTRATION, PURCHASE]},
    {"event_type_ids[]": [REGISTRATION], "event_type_id": PURCHASE},
    {"external_id": "e5"},
    {"time_from": "2024-01-02 10:00:00"},
    {"time_to": "2024-01-01T10:00:00"},
    {"sort_field": "external_id", "sort_direction": "desc"},
    {"sort_field": "created_at", "count": 1, "offset": 1},
    {"sort_field": "data", "sort_direction": "DESC"},
    {"include_property_records": "true"},
    {"count": 2, "offset": 1},
    {"offset": 50},
]


@pytest.mark.parametrize("customer", ["c1", "c2", "c3", "nobody"])
@pytest.mark.parametrize("query", QUERIES)
async def test_same_as_get_events_for_the_customer(
    api: httpx.AsyncClient, customer: str, query: dict[str, Any]
) -> None:
    await seed(api)
    ours = await api.get(f"/customers/{customer}/events", params=query)
    theirs = await api.get("/events", params={**query, "customer_id": customer})
    assert ours.status_code == theirs.status_code == 200, ours.text
    data = ours.json()["data"]
    assert set(data) == {"customer_events", "total_items"}
    assert data["customer_events"] == theirs.json()["data"]["events"]
    assert data["total_items"] == theirs.json()["data"]["total_items"]
    assert {event["customer_id"] for event in data["customer_events"]} <= {customer}


async def test_counts_and_contents(api: httpx.AsyncClient) -> None:
    events = await seed(api)
    data = (await api.get("/customers/c2/events", params={"sort_field": "external_id"})).json()
    expected = sorted(
        (e for e in events if e["customer_id"] == "c2"), key=lambda e: e["external_id"]
    )
    assert data["data"]["customer_events"] == expected
    assert data["data"]["total_items"] == 3
    page = (await api.get("/customers/c2/events", params={"count": 1})).json()["data"]
    assert page["total_items"] == 3
    assert len(page["customer_events"]) == 1


async def test_customer_id_query_parameter_does_not_apply(api: httpx.AsyncClient) -> None:
    await seed(api)
    data = (await api.get("/customers/c1/events", params={"customer_id": "c2"})).json()["data"]
    assert {e["customer_id"] for e in data["customer_events"]} == {"c1"}


async def test_property_records_included(api: httpx.AsyncClient) -> None:
    await create(
        api, "r1", customer_id="cr", records=[{"property_id": "note", "property_value": "hi"}]
    )
    data = (
        await api.get("/customers/cr/events", params={"include_property_records": "true"})
    ).json()["data"]
    [event] = data["customer_events"]
    assert [r["property_value"] for r in event["property_records"]] == ["hi"]
    plain = (await api.get("/customers/cr/events")).json()["data"]["customer_events"]
    assert plain[0]["property_records"] is None


async def test_every_bad_parameter_at_once(api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/customers/c1/events",
        params={
            "count": "0",
            "offset": "x",
            "sort_field": "nope",
            "sort_direction": "up",
            "time_from": "yesterday",
            "time_to": "2024-13-01 00:00:00",
            "event_type_id": "\x00",
            "include_property_records": "maybe",
        },
    )
    assert reasons(response) == {
        ("count", "not_allowed_value"),
        ("offset", "invalid_value_format"),
        ("sort_field", "not_allowed_value"),
        ("sort_direction", "not_allowed_value"),
        ("time_from", "invalid_value_format"),
        ("time_to", "invalid_value_format"),
        ("event_type_id", "invalid_value_format"),
        ("include_property_records", "invalid_value_format"),
    }


@pytest.mark.parametrize("customer_id", ["%00", "x" * 300])
async def test_impossible_customer_id_is_404(api: httpx.AsyncClient, customer_id: str) -> None:
    response = await api.get(f"/customers/{customer_id}/events")
    assert response.status_code == 404
    assert response.json()["error"]["error_data"]["resource_name"] == "customers"


async def test_auth_and_methods(api: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/customers/c1/events")).status_code == 401
    response = await api.post("/customers/c1/events", json={})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"  # main: HEAD is served wherever GET is
    assert response.json()["error"]["error_data"] == {"http_method": "POST"}


@pytest.mark.skipif(not SPEC.is_file(), reason=f"reference spec not found at {SPEC}")
async def test_bodies_match_the_spec(api: httpx.AsyncClient) -> None:
    spec = _lenient(yaml.safe_load(SPEC.read_text(encoding="utf-8")))
    await seed(api)
    path = "/customers/{customer_id}/events"
    check(spec, await api.get("/customers/c2/events"), path, "get")
    check(spec, await api.get("/customers/c2/events?include_property_records=true"), path, "get")
    check(spec, await api.get("/customers/c2/events?count=0"), path, "get")
    check(spec, await api.get("/customers/%00/events"), path, "get")


async def test_empty_sort_parameters_are_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/customers/c1/events?sort_field=&sort_direction=")
    assert reasons(response) == {
        ("sort_field", "empty"),
        ("sort_direction", "empty"),
    }
