"""POST /events: every bad input is a 400 in CareCloud's error body, naming field and reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.helpers import PURCHASE, REGISTRATION, event_body, invalid_params, reasons

EVENT = event_body()["event"]


@pytest.mark.parametrize("missing", ["event_type_id", "customer_id", "external_id"])
async def test_missing_required_field(api: httpx.AsyncClient, missing: str) -> None:
    event = {k: v for k, v in EVENT.items() if k != missing}
    response = await api.post("/events", json={"event": event})
    assert reasons(response) == {(missing, "required")}


async def test_missing_event_object(api: httpx.AsyncClient) -> None:
    response = await api.post("/events", json={"property_records": []})
    assert reasons(response) == {("event", "required")}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("event_type_id", 123, "invalid_value_format"),
        ("event_type_id", "", "empty"),
        ("customer_id", ["x"], "invalid_value_format"),
        ("customer_id", "   ", "empty"),
        ("external_id", True, "invalid_value_format"),
        ("external_id", {"a": 1}, "invalid_value_format"),
        ("external_id", "", "empty"),
        ("external_id", "x" * 256, "not_allowed_value"),
        ("secondary_external_id", [1], "invalid_value_format"),
        ("created_at", "2021-04-29", "invalid_value_format"),
        ("created_at", "2021-02-30 10:00:00", "invalid_value_format"),
        ("created_at", "29.04.2021 14:51:43", "invalid_value_format"),
        ("created_at", 1619700000, "invalid_value_format"),
        ("data", 42, "invalid_value_format"),
        ("data", [1, 2], "invalid_value_format"),
        ("data", True, "invalid_value_format"),
        ("customer_id", "nul\u0000byte", "invalid_value_format"),
        ("data", {"k": "nul\u0000"}, "invalid_value_format"),
        ("data", {"k\u0000": "v"}, "invalid_value_format"),
    ],
)
async def test_bad_event_field(api: httpx.AsyncClient, field: str, value: Any, reason: str) -> None:
    response = await api.post("/events", json={"event": {**EVENT, field: value}})
    assert reasons(response) == {(field, reason)}
    (param,) = invalid_params(response)
    assert isinstance(param["value"], str)
    assert param["message"]


async def test_data_nesting_depth_is_limited(api: httpx.AsyncClient) -> None:
    deep: Any = "bottom"
    for _ in range(40):
        deep = {"d": deep}
    response = await api.post("/events", json={"event": {**EVENT, "data": deep}})
    assert reasons(response) == {("data", "not_allowed_value")}


async def test_data_size_is_limited(api: httpx.AsyncClient) -> None:
    response = await api.post("/events", json={"event": {**EVENT, "data": "x" * 70_000}})
    assert reasons(response) == {("data", "not_allowed_value")}


async def test_a_number_too_large_for_a_float_in_data_is_refused(api: httpx.AsyncClient) -> None:
    """`1e999` is valid JSON but no finite number: PostgreSQL's jsonb could not hold it."""
    body = b'{"event": {"event_type_id": "%s", "customer_id": "c", "external_id": "x", "data": {"amount": 1e999}}}'
    response = await api.post("/events", content=body % PURCHASE.encode())
    assert response.status_code == 400, response.text
    assert reasons(response) == {("data", "invalid_value_format")}


async def test_every_problem_is_listed_at_once(api: httpx.AsyncClient) -> None:
    body = {
        "event": {"event_type_id": 1, "external_id": None, "created_at": "now"},
        "property_records": [{"property_value": 1}, "not an object"],
    }
    response = await api.post("/events", json=body)
    assert reasons(response) == {
        ("event_type_id", "invalid_value_format"),
        ("customer_id", "required"),
        ("external_id", "required"),
        ("created_at", "invalid_value_format"),
        ("property_id", "required"),
        ("property_records", "invalid_value_format"),
    }


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b'{"event": {"event_type_id": "\xff\xfe"}}',
        b'{"event": {"external_id": NaN}}',
        b"[1, 2, 3]",
        b'"just a string"',
    ],
)
async def test_malformed_body(api: httpx.AsyncClient, raw: bytes) -> None:
    response = await api.post("/events", content=raw, headers={"Content-Type": "application/json"})
    assert reasons(response) == {("body", "invalid_value_format")}


async def test_lone_surrogate_is_refused_not_a_500(api: httpx.AsyncClient) -> None:
    raw = b'{"event": {"event_type_id": "8bed991c68a470e7aaeffbf048", "customer_id": "\\ud800", "external_id": "x"}}'
    response = await api.post("/events", content=raw)
    assert reasons(response) == {("customer_id", "invalid_value_format")}


@pytest.mark.parametrize("bad", [{"event": "string"}, {"event": []}, {"event": 5}])
async def test_event_must_be_an_object(api: httpx.AsyncClient, bad: dict[str, Any]) -> None:
    response = await api.post("/events", json=bad)
    assert reasons(response) == {("event", "invalid_value_format")}


async def test_property_records_must_be_an_array(api: httpx.AsyncClient) -> None:
    response = await api.post("/events", json={**event_body(), "property_records": {"a": 1}})
    assert reasons(response) == {("property_records", "invalid_value_format")}


# -- against the catalog -------------------------------------------------------------------


async def test_unknown_event_type_is_not_found(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/events", json=event_body(event_type_id="ffffffffffffffffffffffffff")
    )
    assert reasons(response) == {("event_type_id", "not_found")}
    (param,) = invalid_params(response)
    assert param["value"] == "ffffffffffffffffffffffffff"


async def test_unknown_property_is_not_found(api: httpx.AsyncClient) -> None:
    records = [{"property_id": "no_such_property", "property_value": 1}]
    response = await api.post("/events", json=event_body(records=records))
    assert reasons(response) == {("property_id", "not_found")}


async def test_property_of_another_type_is_not_allowed(api: httpx.AsyncClient) -> None:
    records = [{"property_id": "has_purchase", "property_value": True}]
    response = await api.post(
        "/events", json=event_body(event_type_id=REGISTRATION, records=records)
    )
    assert reasons(response) == {("property_id", "not_allowed_value")}


async def test_same_property_twice_is_already_exists(api: httpx.AsyncClient) -> None:
    records = [
        {"property_id": "note", "property_value": "a"},
        {"property_id": "note", "property_value": "b"},
    ]
    response = await api.post("/events", json=event_body(records=records))
    assert reasons(response) == {("property_id", "already_exists")}


@pytest.mark.parametrize(
    ("property_id", "value", "reason"),
    [
        ("has_purchase", "yes", "invalid_value_format"),
        ("has_purchase", 1, "invalid_value_format"),
        ("has_purchase", "TRUE ", "invalid_value_format"),
        ("amount", "12,5", "invalid_value_format"),
        ("amount", True, "invalid_value_format"),
        ("items_count", 1.5, "invalid_value_format"),
        ("items_count", "4.0", "invalid_value_format"),
        ("items_count", False, "invalid_value_format"),
        ("purchase_date", "2021-02-30", "invalid_value_format"),
        ("purchase_date", "15.06.1985", "invalid_value_format"),
        ("note", 5, "invalid_value_format"),
        ("note", {"a": "b"}, "invalid_value_format"),
        ("note", "nul\u0000", "invalid_value_format"),
        ("tier", [{"id": "1"}, {"id": "2"}], "invalid_value_format"),
        ("tier", [{"name": "Gold"}], "invalid_value_format"),
        ("tier", [{"id": "3"}], "not_allowed_value"),
        ("tier", "Gold", "not_allowed_value"),
        ("channels", "web", "invalid_value_format"),
        ("channels", [{"id": "web"}, {"id": "fax"}], "not_allowed_value"),
    ],
)
async def test_value_must_fit_the_data_type(
    api: httpx.AsyncClient, property_id: str, value: Any, reason: str
) -> None:
    records = [{"property_id": property_id, "property_value": value}]
    response = await api.post("/events", json=event_body(records=records))
    assert reasons(response) == {("property_value", reason)}
    listing = (await api.get("/events")).json()["data"]
    assert listing["total_items"] == 0  # nothing written


async def test_catalog_problems_are_listed_together(api: httpx.AsyncClient) -> None:
    records: list[dict[str, Any]] = [
        {"property_id": "nope", "property_value": 1},
        {"property_id": "amount", "property_value": "lots"},
        {"property_id": "tier", "property_value": ["9"]},
    ]
    response = await api.post("/events", json=event_body(event_type_id=PURCHASE, records=records))
    assert reasons(response) == {
        ("property_id", "not_found"),
        ("property_value", "invalid_value_format"),
        ("property_value", "not_allowed_value"),
    }
