"""GET /events/{event_id}/property-records takes `count` and `offset` as every list does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from tests.events.test_contract import SPEC, _lenient, check
from tests.fixtures.helpers import create, invalid_params

PATH = "/events/{event_id}/property-records"
UNKNOWN_ID = "ffffffffffffffffffffffffff"
# Five records, sent in this order (the order they are listed in).
RECORDS: list[dict[str, Any]] = [
    {"property_id": "note", "property_value": "n"},
    {"property_id": "amount", "property_value": 1.25},
    {"property_id": "has_purchase", "property_value": False},
    {"property_id": "items_count", "property_value": 42},
    {"property_id": "purchase_date", "property_value": "1985-06-15"},
]
ORDER = [record["property_id"] for record in RECORDS]


async def records(api: httpx.AsyncClient, event_id: str, query: str = "") -> dict[str, Any]:
    response = await api.get(f"/events/{event_id}/property-records{query}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    assert set(data) == {"property_records", "total_items"}
    return data


@pytest.mark.parametrize(
    ("count", "offset"),
    [(1, 0), (2, 0), (2, 1), (2, 4), (5, 0), (100, 0), (3, 3), (1, 5), (1000, 6), (1, 10_000)],
)
async def test_pages_of_the_records(api: httpx.AsyncClient, count: int, offset: int) -> None:
    event_id = await create(api, "paged", records=RECORDS)
    every = (await records(api, event_id))["property_records"]
    assert [record["property_id"] for record in every] == ORDER
    page = await records(api, event_id, f"?count={count}&offset={offset}")
    assert page == {"property_records": every[offset : offset + count], "total_items": 5}


async def test_defaults_are_count_100_offset_0(api: httpx.AsyncClient) -> None:
    event_id = await create(api, "defaults", records=RECORDS)
    data = await records(api, event_id)
    assert data["total_items"] == 5
    assert data == await records(api, event_id, "?count=100&offset=0")


async def test_an_event_without_records(api: httpx.AsyncClient) -> None:
    event_id = await create(api, "bare")
    assert await records(api, event_id, "?count=1") == {"property_records": [], "total_items": 0}
    assert await records(api, event_id, "?offset=3") == {"property_records": [], "total_items": 0}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("count=0", [("count", "not_allowed_value", "0")]),
        ("count=1001", [("count", "not_allowed_value", "1001")]),
        (
            "count=x&offset=-1",
            [("count", "invalid_value_format", "x"), ("offset", "not_allowed_value", "-1")],
        ),
        ("offset=10000001", [("offset", "not_allowed_value", "10000001")]),
        ("count=&offset=", [("count", "empty", ""), ("offset", "empty", "")]),
    ],
)
async def test_bad_paging_is_a_400(
    api: httpx.AsyncClient, query: str, expected: list[tuple[str, str, str]]
) -> None:
    event_id = await create(api, "bad", records=RECORDS)
    response = await api.get(f"/events/{event_id}/property-records?{query}")
    assert [(p["name"], p["reason"], p["value"]) for p in invalid_params(response)] == expected


@pytest.mark.parametrize("query", ["", "?count=1&offset=1", "?offset=9"])
async def test_an_unknown_event_is_a_404_whatever_the_page(
    api: httpx.AsyncClient, query: str
) -> None:
    response = await api.get(f"/events/{UNKNOWN_ID}/property-records{query}")
    assert response.status_code == 404
    assert response.json()["error"]["error_data"] == {
        "resource_name": "events",
        "resource_id": UNKNOWN_ID,
    }


@pytest.mark.skipif(not SPEC.is_file(), reason=f"reference spec not found at {SPEC}")
async def test_pages_match_the_spec(api: httpx.AsyncClient) -> None:
    spec = _lenient(yaml.safe_load(SPEC.read_text(encoding="utf-8")))
    event_id = await create(api, "spec", records=RECORDS)
    for query in ["?count=2&offset=1", "?offset=7", "?count=0"]:
        check(spec, await api.get(f"/events/{event_id}/property-records{query}"), PATH, "get")
