"""One answer lists every problem a POST /events body has (issue 10, item 13)."""

from __future__ import annotations

import httpx

from tests.fixtures.helpers import event_body, reasons

UNKNOWN_TYPE = "ffffffffffffffffffffffffff"


async def test_an_unknown_event_type_does_not_hide_its_records_problems(
    api: httpx.AsyncClient,
) -> None:
    records = [
        {"property_id": "no_such_property", "property_value": "x"},
        {"property_id": "note", "property_value": "a"},
        {"property_id": "note", "property_value": "b"},
    ]
    response = await api.post(
        "/events", json=event_body("x", event_type_id=UNKNOWN_TYPE, records=records)
    )
    assert reasons(response) == {
        ("event_type_id", "not_found"),
        ("property_id", "not_found"),
        ("property_id", "already_exists"),
    }


async def test_a_missing_field_does_not_hide_value_problems(api: httpx.AsyncClient) -> None:
    body = event_body("x", records=[{"property_id": "items_count", "property_value": "many"}])
    del body["event"]["customer_id"]
    response = await api.post("/events", json=body)
    assert reasons(response) == {
        ("customer_id", "required"),
        ("property_value", "invalid_value_format"),
    }


async def test_in_a_batch_too(api: httpx.AsyncClient) -> None:
    item = event_body("x", records=[{"property_id": "tier", "property_value": ["9"]}])
    del item["event"]["external_id"]
    response = await api.post("/events/batch", json={"events": [item]})
    assert reasons(response) == {
        ("events[0].event.external_id", "required"),
        ("events[0].property_records[0].property_value", "not_allowed_value"),
    }
