"""GET /events: shape, property records, ordering, paging, filters and parameter errors."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.fixtures.helpers import (
    PURCHASE,
    REGISTRATION,
    create,
    invalid_params,
    property_item,
    reasons,
)

SORT_FIELDS = (  # noqa: SIM905 -- every first-level field of an event, in the documented order
    "event_id event_type_id customer_id external_id data created_at secondary_external_id state"
).split()
EVENT_KEYS = {*SORT_FIELDS, "property_records"}
INJECTION = "' OR 1=1 --"
F, N = "invalid_value_format", "not_allowed_value"
COLUMNS = (
    "external_id",
    "event_type_id",
    "customer_id",
    "created_at",
    "data",
    "secondary_external_id",
)
# Insertion order differs from every sort order; all columns but external_id have ties.
ROWS = [
    ("e3", PURCHASE, "c2", "2024-01-02 10:00:00", "d2", "s1"),
    ("e1", REGISTRATION, "c1", "2024-01-01 10:00:00", "d3", "s2"),
    ("e5", PURCHASE, "c1", "2024-01-02 10:00:00", "d1", "s2"),
    ("e2", PURCHASE, "c3", "2024-01-03 09:00:00", "d2", "s3"),
    ("e4", REGISTRATION, "c2", "2024-01-01 10:00:00", "d1", "s1"),
    ("e6", PURCHASE, "c2", "2024-01-02 10:00:00", "d3", "s3"),
]


async def listing(api: httpx.AsyncClient, params: Any = None) -> dict[str, Any]:
    response = await api.get("/events", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"}
    assert set(body["data"]) == {"events", "total_items"}
    data: dict[str, Any] = body["data"]
    return data


def ids(data: dict[str, Any]) -> list[str]:
    return [event["event_id"] for event in data["events"]]


async def seed(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Create ROWS; return them as the API should show them."""
    events = []
    for values in ROWS:
        row = dict(zip(COLUMNS, values, strict=True))
        event_id = await create(api, **row)
        events.append({**row, "event_id": event_id, "state": 1, "property_records": None})
    return events


def expected_order(events: list[dict[str, Any]], field: str, descending: bool) -> list[str]:
    ordered = sorted(events, key=lambda e: (e[field], e["event_id"]), reverse=descending)
    return [e["event_id"] for e in ordered]


async def walk(api: httpx.AsyncClient, params: dict[str, Any], size: int) -> list[str]:
    """All ids, page by page; every page reports the same total."""
    seen: list[str] = []
    total = None
    while True:
        data = await listing(api, {**params, "count": size, "offset": len(seen)})
        total = data["total_items"] if total is None else total
        assert data["total_items"] == total
        assert len(data["events"]) <= size
        if not data["events"]:
            assert len(seen) == total
            return seen
        seen += ids(data)


# -- shape ---------------------------------------------------------------------------------------


async def test_empty_database_lists_nothing(api: httpx.AsyncClient) -> None:
    assert await listing(api) == {"events": [], "total_items": 0}


async def test_events_have_exactly_the_documented_fields(api: httpx.AsyncClient) -> None:
    created = await seed(api)
    data = await listing(api)
    assert data["total_items"] == len(ROWS)
    for event in data["events"]:
        assert set(event) == EVENT_KEYS
    by_id = {e["event_id"]: e for e in data["events"]}
    assert by_id == {e["event_id"]: e for e in created}


async def test_numeric_external_id_and_json_data_round_trip(api: httpx.AsyncClient) -> None:
    data = {"test": 10, "nested": {"b": [1, 2], "a": None}}
    await create(api, 157613, data=data, created_at="2024-01-01T10:00:00")
    (event,) = (await listing(api, {"external_id": "157613"}))["events"]
    assert event["external_id"] == "157613"
    assert event["data"] == data
    assert list(event["data"]) == ["test", "nested"]
    assert event["created_at"] == "2024-01-01 10:00:00"
    assert event["secondary_external_id"] is None
    assert event["state"] == 1


# -- property records ------------------------------------------------------------------------------

NAMES = {
    "note": "Note",
    "amount": "Amount",
    "has_purchase": "Has purchase",
    "items_count": "Number of items",
    "purchase_date": "Purchase date",
    "tier": "Tier",
    "channels": "Channels",
}
VALUES: list[Any] = ["hello", 149.9, "true", 3, "2024-01-01", ["1"], ["web", "app"]]
RECORDS = [{"property_id": p, "property_value": v} for p, v in zip(NAMES, VALUES, strict=True)]
# the values as answered: the documented form of each property's data type
ANSWERED: list[Any] = [
    "hello",
    149.9,
    True,
    3,
    "2024-01-01",
    [property_item("1", "Gold")],
    [property_item("web", "Web"), property_item("app", "Mobile app")],
]


@pytest.mark.parametrize("params", [{}, {"include_property_records": "false"}])
async def test_property_records_are_null_by_default(
    api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    await create(api, "a", records=RECORDS)
    (event,) = (await listing(api, params))["events"]
    assert "property_records" in event
    assert event["property_records"] is None


async def test_include_property_records(api: httpx.AsyncClient) -> None:
    full = await create(api, "a", records=RECORDS, created_at="2024-01-01 10:00:00")
    bare = await create(api, "b", created_at="2024-01-01 11:00:00")
    reg = await create(
        api,
        "c",
        event_type_id=REGISTRATION,
        created_at="2024-01-01 12:00:00",
        records=[{"property_id": "channels", "property_value": ["pos"]}],
    )
    data = await listing(api, {"include_property_records": "true"})
    assert ids(data) == [full, bare, reg]
    first, second, third = data["events"]
    assert set(first) == EVENT_KEYS
    assert [r["property_id"] for r in first["property_records"]] == [
        r["property_id"] for r in RECORDS
    ]
    for record, sent, answered in zip(first["property_records"], RECORDS, ANSWERED, strict=True):
        assert set(record) == {
            "property_record_id",
            "property_id",
            "property_name",
            "property_value",
            "last_change",
        }
        assert record["property_record_id"] == f"{sent['property_id']}:{full}"
        assert record["property_name"] == NAMES[sent["property_id"]]
        assert record["property_value"] == answered
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", record["last_change"])
        datetime.strptime(record["last_change"], "%Y-%m-%d %H:%M:%S")
    assert second["property_records"] == []
    (channels,) = third["property_records"]
    assert channels["property_record_id"] == f"channels:{reg}"
    assert channels["property_value"] == [property_item("pos", "Point of sale")]


async def test_property_records_follow_their_event_across_pages(api: httpx.AsyncClient) -> None:
    first = await create(api, "a", created_at="2024-01-01 10:00:00", records=RECORDS[:1])
    second = await create(api, "b", created_at="2024-01-01 11:00:00")
    third = await create(api, "c", created_at="2024-01-01 12:00:00", records=RECORDS[1:2])
    params = {"include_property_records": "true", "count": 1}
    page = await listing(api, {**params, "offset": 1})
    assert ids(page) == [second]
    assert page["events"][0]["property_records"] == []
    page = await listing(api, {**params, "offset": 2})
    assert ids(page) == [third]
    assert [r["property_record_id"] for r in page["events"][0]["property_records"]] == [
        f"amount:{third}"
    ]
    page = await listing(api, {**params, "sort_direction": "DESC", "offset": 2})
    assert ids(page) == [first]
    assert [r["property_id"] for r in page["events"][0]["property_records"]] == ["note"]


# -- ordering ------------------------------------------------------------------------------------


async def test_default_order_is_created_at_then_event_id(api: httpx.AsyncClient) -> None:
    created = await seed(api)
    assert ids(await listing(api)) == expected_order(created, "created_at", False)


async def test_direction_alone_reverses_default_order(api: httpx.AsyncClient) -> None:
    created = await seed(api)
    data = await listing(api, {"sort_direction": "DESC"})
    assert ids(data) == expected_order(created, "created_at", True)


@pytest.mark.parametrize("field", SORT_FIELDS)
@pytest.mark.parametrize(
    ("direction", "descending"),
    [(None, False), ("ASC", False), ("Asc", False), ("DESC", True), ("desc", True)],
)
async def test_sort_field(
    api: httpx.AsyncClient, field: str, direction: str | None, descending: bool
) -> None:
    created = await seed(api)
    params = {"sort_field": field} | ({"sort_direction": direction} if direction else {})
    data = await listing(api, params)
    assert ids(data) == expected_order(created, field, descending)
    assert data["total_items"] == len(ROWS)


@pytest.mark.parametrize("field", ["created_at", "state", "customer_id", "event_type_id", "data"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_pages_with_ties_neither_overlap_nor_skip(
    api: httpx.AsyncClient, field: str, direction: str
) -> None:
    created = await seed(api)
    params = {"sort_field": field, "sort_direction": direction}
    full = ids(await listing(api, params))
    assert full == expected_order(created, field, direction == "DESC")
    assert await walk(api, params, 2) == full
    assert await walk(api, params, 4) == full


@pytest.mark.parametrize(
    "value", ["foo", "property_records", "created_at; DROP TABLE events", "CREATED_AT"]
)
async def test_unknown_sort_field(api: httpx.AsyncClient, value: str) -> None:
    await create(api, "a")
    response = await api.get("/events", params={"sort_field": value})
    (param,) = invalid_params(response)
    assert (param["name"], param["reason"]) == ("sort_field", N)
    assert param["value"] == value
    assert (await listing(api))["total_items"] == 1  # the table is still there


@pytest.mark.parametrize("value", ["up", "ASCENDING", "DESC;", "DESC, event_id"])
async def test_bad_sort_direction(api: httpx.AsyncClient, value: str) -> None:
    response = await api.get("/events", params={"sort_direction": value})
    assert reasons(response) == {("sort_direction", N)}


# -- count / offset ------------------------------------------------------------------------------


async def test_count_defaults_to_100(api: httpx.AsyncClient) -> None:
    created = [await create(api, f"x{i:03}", created_at="2024-01-01 10:00:00") for i in range(101)]
    data = await listing(api)
    assert data["total_items"] == 101
    assert ids(data) == sorted(created)[:100]
    rest = await listing(api, {"offset": 100})
    assert ids(rest) == sorted(created)[100:]
    assert rest["total_items"] == 101
    assert len((await listing(api, {"count": 1000}))["events"]) == 101


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"count": 1}, slice(0, 1)),
        ({"count": 2, "offset": 0}, slice(0, 2)),
        ({"count": 2, "offset": 1}, slice(1, 3)),
        ({"count": 1000, "offset": 4}, slice(4, 6)),
        ({"offset": 5}, slice(5, 6)),
        ({"offset": 6}, slice(6, 6)),
        ({"offset": 50, "count": 3}, slice(6, 6)),
        ({"offset": 10_000_000}, slice(6, 6)),
    ],
)
async def test_count_and_offset_window(
    api: httpx.AsyncClient, params: dict[str, int], expected: slice
) -> None:
    created = await seed(api)
    data = await listing(api, params)
    assert ids(data) == expected_order(created, "created_at", False)[expected]
    assert data["total_items"] == len(ROWS)


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("count", "0", N),
        ("count", "1001", N),
        ("count", "-1", N),
        ("count", "abc", F),
        ("count", "1.5", F),
        ("count", "", "empty"),
        ("offset", "-1", N),
        ("offset", "x", F),
        ("offset", "10000001", N),
        ("include_property_records", "maybe", F),
    ],
)
async def test_bad_paging_parameter(
    api: httpx.AsyncClient, name: str, value: str, reason: str
) -> None:
    response = await api.get("/events", params={name: value})
    assert reasons(response) == {(name, reason)}


@pytest.mark.parametrize(
    "bad",
    [
        {
            "count": ("0", N),
            "offset": ("-1", N),
            "sort_direction": ("sideways", N),
            "time_from": ("yesterday", F),
            "time_to": ("2020-13-01 00:00:00", F),
        },
        {"sort_field": ("foo", N), "count": ("1001", N), "time_to": ("never", F)},
        {"count": ("abc", F), "offset": ("x", F), "include_property_records": ("maybe", F)},
        {"count": ("abc", F), "sort_direction": ("up", N), "time_from": ("yesterday", F)},
    ],
    ids=["range-and-custom", "sort-field", "type-errors", "type-and-custom"],
)
async def test_several_bad_parameters_in_one_400(
    api: httpx.AsyncClient, bad: dict[str, tuple[str, str]]
) -> None:
    response = await api.get("/events", params={name: value for name, (value, _) in bad.items()})
    assert reasons(response) == {(name, reason) for name, (_, reason) in bad.items()}
    assert len(invalid_params(response)) == len(bad)


# -- filters -------------------------------------------------------------------------------------


def matching(events: list[dict[str, Any]], external_ids: str) -> list[str]:
    chosen = [e for e in events if e["external_id"] in external_ids.split()]
    return expected_order(chosen, "created_at", False)


@pytest.mark.parametrize(
    ("params", "external_ids"),
    [
        ({"event_type_id": PURCHASE}, "e2 e3 e5 e6"),
        ({"event_type_id": REGISTRATION}, "e1 e4"),
        ({"event_type_ids[]": [REGISTRATION]}, "e1 e4"),
        ({"event_type_ids[]": [PURCHASE, REGISTRATION]}, "e1 e2 e3 e4 e5 e6"),
        ({"event_type_ids[]": [PURCHASE, "8bed991c68a470e7aaeffbf049"]}, "e2 e3 e5 e6"),
        ({"event_type_ids[]": [REGISTRATION, REGISTRATION]}, "e1 e4"),
        ({"event_type_id": PURCHASE, "event_type_ids[]": [PURCHASE, REGISTRATION]}, "e2 e3 e5 e6"),
        ({"customer_id": "c2"}, "e3 e4 e6"),
        ({"customer_id": "c1", "event_type_id": PURCHASE}, "e5"),
        ({"external_id": "e5"}, "e5"),
        ({"time_from": "2024-01-02 10:00:00"}, "e2 e3 e5 e6"),
        ({"time_to": "2024-01-02 10:00:00"}, "e1 e3 e4 e5 e6"),
        ({"time_from": "2024-01-02T10:00:00", "time_to": "2024-01-02T10:00:00"}, "e3 e5 e6"),
        ({"time_from": "2024-01-01 10:00:01", "time_to": "2024-01-03 08:59:59"}, "e3 e5 e6"),
        ({"time_from": "2024-01-01T10:00:00", "time_to": "2024-01-01 10:00:00"}, "e1 e4"),
        ({"time_from": "2024-01-03 09:00:00", "customer_id": "c3"}, "e2"),
    ],
)
async def test_filters(api: httpx.AsyncClient, params: dict[str, Any], external_ids: str) -> None:
    expected = matching(await seed(api), external_ids)
    data = await listing(api, params)
    assert ids(data) == expected
    assert data["total_items"] == len(expected)
    if len(expected) > 1:  # total_items counts every match, not only the page
        page = await listing(api, {**params, "count": 1, "offset": 1})
        assert ids(page) == expected[1:2]
        assert page["total_items"] == len(expected)


async def test_time_bounds_are_inclusive_to_the_second(api: httpx.AsyncClient) -> None:
    times = ["2024-05-01 09:59:59", "2024-05-01 10:00:00", "2024-05-01 10:00:01"]
    made = [await create(api, f"t{i}", created_at=t) for i, t in enumerate(times)]
    exact = {"time_from": times[1], "time_to": times[1]}
    assert ids(await listing(api, exact)) == made[1:2]
    assert ids(await listing(api, {"time_from": "2024-05-01T10:00:00"})) == made[1:]
    assert ids(await listing(api, {"time_to": "2024-05-01T10:00:00"})) == made[:2]


@pytest.mark.parametrize(
    "params",
    [
        {"customer_id": "nobody"},
        {"event_type_id": "8bed991c68a470e7aaeffbf049"},
        {"event_type_ids[]": ["8bed991c68a470e7aaeffbf049", "unknown"]},
        {"event_type_id": PURCHASE, "event_type_ids[]": [REGISTRATION]},
        {"external_id": "E5"},
        {"customer_id": "c3", "event_type_id": REGISTRATION},
        {"time_from": "2030-01-01 00:00:00"},
        {"time_to": "2023-12-31 23:59:59"},
        {"time_from": "2024-01-03 00:00:00", "time_to": "2024-01-02 00:00:00"},
        {"customer_id": INJECTION},
        {"external_id": INJECTION},
        {"event_type_id": INJECTION},
        {"event_type_ids[]": [INJECTION]},
        {"customer_id": "c1' OR '1'='1"},
        {"external_id": "e1; DELETE FROM events; --"},
    ],
)
async def test_filters_matching_nothing(api: httpx.AsyncClient, params: dict[str, Any]) -> None:
    await seed(api)
    assert await listing(api, params) == {"events": [], "total_items": 0}
    assert (await listing(api))["total_items"] == len(ROWS)


@pytest.mark.parametrize("name", ["time_from", "time_to"])
@pytest.mark.parametrize(
    "value",
    [
        "2020-13-01 00:00:00",
        "2020-02-30 00:00:00",
        "2020-01-01 24:00:00",
        "yesterday",
        "2020-01-01",
        "2020-01-01 00:00:00+01:00",
        INJECTION,
    ],
)
async def test_bad_time_bound(api: httpx.AsyncClient, name: str, value: str) -> None:
    response = await api.get("/events", params={name: value})
    (param,) = invalid_params(response)
    assert (param["name"], param["reason"]) == (name, F)
    assert param["value"] == value


@pytest.mark.parametrize(
    "name", ["event_type_id", "event_type_ids[]", "customer_id", "external_id"]
)
@pytest.mark.parametrize(
    ("value", "reason"),
    [("a\x00b", "invalid_value_format"), ("x" * 256, "not_allowed_value")],
)
async def test_filter_text_must_be_storable_and_bounded(
    api: httpx.AsyncClient, name: str, value: str, reason: str
) -> None:
    response = await api.get("/events", params={name: value})
    assert reasons(response) == {(name.removesuffix("[]"), reason)}
