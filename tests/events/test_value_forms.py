"""Values over HTTP: ASCII digits only, padded years, numbers as documented (issue 10)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.helpers import create, event_body, reasons

FOREIGN_DIGITS = ["٣", "１２", "४२"]


@pytest.mark.parametrize(
    ("property_id", "value"),
    [
        ("items_count", "4\n"),
        ("items_count", "+5"),
        *[("items_count", digits) for digits in FOREIGN_DIGITS],
        ("amount", "1e999"),
        ("amount", "NaN"),
        *[("amount", digits) for digits in FOREIGN_DIGITS],
        ("purchase_date", "２０２４-01-01"),
    ],
)
async def test_property_values_take_ascii_forms_only(
    api: httpx.AsyncClient, property_id: str, value: Any
) -> None:
    records = [{"property_id": property_id, "property_value": value}]
    response = await api.post("/events", json=event_body("x", records=records))
    assert reasons(response) == {("property_value", "invalid_value_format")}


@pytest.mark.parametrize("created_at", ["２０２４-01-01 00:00:00", "2024-01-0٣ 00:00:00"])
async def test_created_at_takes_ascii_digits_only(api: httpx.AsyncClient, created_at: str) -> None:
    response = await api.post("/events", json=event_body("x", created_at=created_at))
    assert reasons(response) == {("created_at", "invalid_value_format")}


@pytest.mark.parametrize(
    ("name", "value"),
    [("count", "٣"), ("offset", "٣"), ("count", "+5"), ("time_from", "２０２４-01-01 00:00:00")],
)
async def test_query_parameters_take_ascii_digits_only(
    api: httpx.AsyncClient, name: str, value: str
) -> None:
    response = await api.get("/events", params={name: value})
    assert reasons(response) == {(name, "invalid_value_format")}


async def test_years_before_1000_keep_four_digits(api: httpx.AsyncClient) -> None:
    event_id = await create(api, "ancient", created_at="0001-01-01 00:00:00")
    fetched = (await api.get(f"/events/{event_id}")).json()["data"]
    assert fetched["created_at"] == "0001-01-01 00:00:00"
    listed = await api.get("/events", params={"time_to": "0999-12-31 23:59:59"})
    assert [e["created_at"] for e in listed.json()["data"]["events"]] == ["0001-01-01 00:00:00"]


async def test_numbers_come_back_as_documented(api: httpx.AsyncClient) -> None:
    """Integers of any size and strings in `data` come back exactly, a JSON number with a
    fraction in `data` is a double (README); property values of type float come back as JSON
    numbers with every digit, whether sent as a string or as a number."""
    data = {
        "big": 123456789012345678901234567890,
        "exact_text": "0.10000000000000000000001",
        "fraction": 0.10000000000000000000001,
        "large_fraction": 12345678901234567890.123,
    }
    records = [
        {"property_id": "amount", "property_value": "0.10000000000000000000001"},
        {"property_id": "items_count", "property_value": 12345678},
    ]
    event_id = await create(api, "numbers", data=data, records=records)
    stored = (await api.get(f"/events/{event_id}")).json()["data"]["data"]
    assert stored["big"] == 123456789012345678901234567890
    assert stored["exact_text"] == "0.10000000000000000000001"
    assert stored["fraction"] == 0.1
    assert stored["large_fraction"] == 1.2345678901234567e19
    response = await api.get(f"/events/{event_id}/property-records")
    assert '"property_value":0.10000000000000000000001,' in response.text
    assert '"property_value":12345678,' in response.text
