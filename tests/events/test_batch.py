"""POST /events/batch: validation, error_processing 1 and 2, deduplication, limits, races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.settings import get_settings
from tests.catalog.test_catalog import base, load_data, type_id_of
from tests.events.test_create_event import refusing_trigger, row_counts  # noqa: F401
from tests.fixtures.helpers import PURCHASE, REGISTRATION, event_body, invalid_params, reasons

RELATION = "event_id_event_type_id_customer_id_external_id_secondary_external_id"
RECORDS: list[dict[str, Any]] = [
    {"property_id": "has_purchase", "property_value": True},
    {"property_id": "amount", "property_value": 149.9},
    {"property_id": "note", "property_value": "x"},
]


def items(n: int, prefix: str = "b", **fields: Any) -> list[dict[str, Any]]:
    return [event_body(f"{prefix}{i}", records=RECORDS, **fields) for i in range(n)]


async def total(api: httpx.AsyncClient, **params: str) -> int:
    response = await api.get("/events", params=params)
    assert response.status_code == 200, response.text
    value: int = response.json()["data"]["total_items"]
    return value


async def post_batch(api: httpx.AsyncClient, events: Any, mode: Any = None) -> httpx.Response:
    body: dict[str, Any] = {"events": events}
    if mode is not None:
        body["error_processing"] = mode
    return await api.post("/events/batch", json=body)


# -- success -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [None, 1, 2])
async def test_valid_batch_is_204_and_written_with_records(
    api: httpx.AsyncClient, engine: AsyncEngine, mode: int | None
) -> None:
    response = await post_batch(api, items(5), mode)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await row_counts(engine) == (5, 15)
    listing = (
        await api.get(
            "/events", params={"include_property_records": "true", "sort_field": "external_id"}
        )
    ).json()["data"]
    assert listing["total_items"] == 5
    event = listing["events"][0]
    assert event["external_id"] == "b0"
    assert event["state"] == 1
    assert [(r["property_id"], r["property_value"]) for r in event["property_records"]] == [
        ("has_purchase", True),
        ("amount", 149.9),
        ("note", "x"),
    ]


async def test_batch_events_read_back_like_single_ones(api: httpx.AsyncClient) -> None:
    body = event_body(
        157613,
        secondary_external_id=7,
        created_at="2021-04-29 14:51:43",
        data={"test": 10},
        records=[{"property_id": "tier", "property_value": "1"}],
    )
    assert (await post_batch(api, [body])).status_code == 204
    event = (await api.get("/events")).json()["data"]["events"][0]
    assert event["external_id"] == "157613"
    assert event["secondary_external_id"] == "7"
    assert event["created_at"] == "2021-04-29 14:51:43"
    assert event["data"] == {"test": 10}
    records = (await api.get(f"/events/{event['event_id']}/property-records")).json()["data"]
    assert records["total_items"] == 1


async def test_empty_batch_writes_nothing(api: httpx.AsyncClient) -> None:
    assert (await post_batch(api, [])).status_code == 204
    assert await total(api) == 0


async def test_1000_items_over_the_single_body_limit_are_accepted(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    events = items(1000, data="d" * 1100)
    body = httpx.Request("POST", "/", json={"events": events}).content
    assert len(body) > get_settings().max_body_bytes  # only the batch route's limit allows it
    response = await api.post(
        "/events/batch", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 204, response.text[:500]
    assert await row_counts(engine) == (1000, 3000)
    assert await total(api) == 1000
    assert await total(api, event_type_id=PURCHASE) == 1000


# -- the batch body itself ----------------------------------------------------------------------


async def test_1001_items_is_400_and_writes_nothing(api: httpx.AsyncClient) -> None:
    response = await post_batch(api, items(1001), 2)
    params = invalid_params(response)
    assert [(p["name"], p["reason"], p["value"]) for p in params] == [
        ("events", "not_allowed_value", "1001")
    ]
    assert "1000" in params[0]["message"]
    assert await total(api) == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], {("body", "invalid_value_format")}),
        ("x", {("body", "invalid_value_format")}),
        ({}, {("events", "required")}),
        ({"events": None}, {("events", "required")}),
        ({"events": {"event": {}}}, {("events", "invalid_value_format")}),
        ({"events": [], "error_processing": 3}, {("error_processing", "not_allowed_value")}),
        ({"events": [], "error_processing": "1"}, {("error_processing", "not_allowed_value")}),
        ({"events": [], "error_processing": True}, {("error_processing", "not_allowed_value")}),
        (
            {"events": "x", "error_processing": 0},
            {("events", "invalid_value_format"), ("error_processing", "not_allowed_value")},
        ),
    ],
)
async def test_bad_batch_body_is_400(
    api: httpx.AsyncClient, body: Any, expected: set[tuple[str, str]]
) -> None:
    assert reasons(await api.post("/events/batch", json=body)) == expected


async def test_invalid_json_is_400(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/events/batch", content=b'{"events": [', headers={"Content-Type": "application/json"}
    )
    assert reasons(response) == {("body", "invalid_value_format")}


async def test_body_over_the_batch_limit_is_413_and_writes_nothing(api: httpx.AsyncClient) -> None:
    limit = get_settings().max_batch_body_bytes
    body = b'{"events": [{"event": {"data": "' + b"x" * limit + b'"}}]}'
    response = await api.post(
        "/events/batch", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["exception"] == "payload_too_large_exception"
    assert str(limit) in error["detail"]
    assert await total(api) == 0


async def test_single_post_keeps_its_own_body_limit(api: httpx.AsyncClient) -> None:
    limit = get_settings().max_body_bytes
    body = b'{"event": {"data": "' + b"x" * limit + b'"}}'
    response = await api.post("/events", content=body)
    assert response.status_code == 413
    assert str(limit) in response.json()["error"]["detail"]


async def test_batch_needs_credentials(anon: httpx.AsyncClient) -> None:
    response = await anon.post("/events/batch", json={"events": []})
    assert response.status_code == 401
    assert response.json()["error"]["exception"] == "unauthorized_exception"
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_get_on_batch_is_not_a_route_clash(api: httpx.AsyncClient) -> None:
    response = await api.get("/events/batch")
    assert response.status_code == 404
    assert response.json()["error"]["error_data"] == {
        "resource_name": "events",
        "resource_id": "batch",
    }


# -- error_processing 1 -------------------------------------------------------------------------


async def test_mode_1_reports_every_problem_of_every_item_and_writes_nothing(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    events: list[Any] = items(6)
    events[1] = event_body("x1", event_type_id="no-such-type")
    events[2] = event_body(
        "x2",
        records=[
            {"property_id": "amount", "property_value": "abc"},
            {"property_id": "nope", "property_value": 1},
            {"property_id": "amount", "property_value": 1},
        ],
    )
    events[3] = {"event": {"customer_id": ""}, "property_records": [5, {"property_value": 1}]}
    events[4] = "not an object"
    events[5] = {"event": [], "property_records": "x"}
    response = await post_batch(api, events)
    assert reasons(response) == {
        ("events[1].event.event_type_id", "not_found"),
        ("events[2].property_records[0].property_value", "invalid_value_format"),
        ("events[2].property_records[1].property_id", "not_found"),
        ("events[2].property_records[2].property_id", "already_exists"),
        ("events[3].event.event_type_id", "required"),
        ("events[3].event.customer_id", "empty"),
        ("events[3].event.external_id", "required"),
        ("events[3].property_records[0]", "invalid_value_format"),
        ("events[3].property_records[1].property_id", "required"),
        ("events[4]", "invalid_value_format"),
        ("events[5].event", "invalid_value_format"),
        ("events[5].property_records", "invalid_value_format"),
    }
    names = [p["name"] for p in invalid_params(response)]
    assert names == sorted(names, key=lambda n: int(n.split("]")[0].split("[")[1]))  # item order
    assert await row_counts(engine) == (0, 0)


async def test_mode_1_required_and_unassigned_properties_are_named_per_item(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await load_data(engine, base())  # type "checkout": "req" required, "opt" optional
    checkout = await type_id_of(engine, "checkout")
    events = [
        event_body("r0", event_type_id=checkout, records=[{"property_id": "opt"}]),
        event_body(
            "r1",
            event_type_id=checkout,
            records=[
                {"property_id": "req", "property_value": "n"},
                {"property_id": "amount", "property_value": 1},
            ],
        ),
        event_body(
            "r2", event_type_id=checkout, records=[{"property_id": "req", "property_value": "n"}]
        ),
    ]
    assert reasons(await post_batch(api, events)) == {
        ("events[0].property_records.property_id", "required"),
        ("events[1].property_records[1].property_id", "not_allowed_value"),
    }
    assert await total(api) == 0


async def test_mode_1_duplicate_of_a_stored_event_rolls_back_all(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert (await api.post("/events", json=event_body("b2"))).status_code == 201
    response = await post_batch(api, items(4))
    params = invalid_params(response)
    assert [(p["name"], p["reason"], p["value"]) for p in params] == [
        (
            f"events[2].event.{RELATION}",
            "relation_already_exists",
            f"{PURCHASE}, 85bc5819e09dab95437552ce79, b2",
        )
    ]
    assert await row_counts(engine) == (1, 0)


async def test_mode_1_duplicate_within_the_batch_rolls_back_all(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    events = [*items(3), event_body("b1", records=RECORDS)]
    assert reasons(await post_batch(api, events, 1)) == {
        (f"events[3].event.{RELATION}", "relation_already_exists")
    }
    assert await row_counts(engine) == (0, 0)


async def test_mode_1_reports_duplicates_and_invalid_items_together(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.post("/events", json=event_body("b0"))).status_code == 201
    events: list[Any] = items(3)
    events[2] = event_body("bad", event_type_id="nope")
    assert reasons(await post_batch(api, events)) == {
        (f"events[0].event.{RELATION}", "relation_already_exists"),
        ("events[2].event.event_type_id", "not_found"),
    }
    assert await total(api) == 1


async def test_relation_parts_each_make_a_new_event(api: httpx.AsyncClient) -> None:
    events = [
        event_body("r"),
        event_body("r", secondary_external_id="s1"),
        event_body("r", secondary_external_id="s2"),
        event_body("r", customer_id="other"),
        event_body("r", event_type_id=REGISTRATION),
    ]
    assert (await post_batch(api, events)).status_code == 204
    assert await total(api) == 5


# -- error_processing 2 -------------------------------------------------------------------------


async def test_mode_2_writes_valid_items_and_reports_the_others(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert (await api.post("/events", json=event_body("b4"))).status_code == 201
    events: list[Any] = items(6)
    events[1] = event_body("x", event_type_id="nope")
    events[3] = event_body("b0")  # the same relation as item 0
    events[5] = {"event": {"event_type_id": PURCHASE}}
    response = await api.post(
        "/events/batch",
        json={"events": events, "error_processing": 2},
        headers={"Accept-Language": "cs"},
    )
    assert response.status_code == 200, response.text
    report = response.json()["data"]
    assert report["written"] == 2  # items 0 and 2; item 4 existed already
    assert report["total_items"] == 4
    failed = {item["index"]: item["invalid_params"] for item in report["failed_items"]}
    assert list(failed) == [1, 3, 4, 5]
    assert [(p["name"], p["reason"]) for p in failed[1]] == [
        ("events[1].event.event_type_id", "not_found")
    ]
    assert [(p["name"], p["reason"]) for p in failed[3]] == [
        (f"events[3].event.{RELATION}", "relation_already_exists")
    ]
    assert [(p["name"], p["reason"]) for p in failed[4]] == [
        (f"events[4].event.{RELATION}", "relation_already_exists")
    ]
    assert {(p["name"], p["reason"]) for p in failed[5]} == {
        ("events[5].event.customer_id", "required"),
        ("events[5].event.external_id", "required"),
    }
    assert all(set(p) == {"name", "reason", "value", "message"} for p in failed[5])
    english = await api.post("/events/batch", json={"events": events[5:], "error_processing": 2})
    assert (
        english.json()["data"]["failed_items"][0]["invalid_params"][0]["message"]
        != (failed[5][0]["message"])
    )  # rendered in the client's language
    assert await row_counts(engine) == (3, 6)
    externals = {e["external_id"] for e in (await api.get("/events")).json()["data"]["events"]}
    assert externals == {"b0", "b2", "b4"}


async def test_mode_2_with_every_item_failing_writes_nothing(api: httpx.AsyncClient) -> None:
    response = await post_batch(api, [event_body("x", event_type_id="nope")] * 2, 2)
    assert response.status_code == 200
    assert response.json()["data"]["written"] == 0
    assert response.json()["data"]["total_items"] == 2
    assert await total(api) == 0


# -- failures inside PostgreSQL ----------------------------------------------------------------


@pytest.mark.usefixtures("refusing_trigger")
async def test_a_failure_inside_the_database_writes_nothing(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    events = [
        *items(3),
        event_body("boom", records=[{"property_id": "note", "property_value": "boom"}]),
    ]
    response = await post_batch(api, events, 2)
    assert response.status_code == 500
    assert response.json()["error"]["exception"] == "internal_server_error_exception"
    assert await row_counts(engine) == (0, 0)


@pytest.fixture
async def failing_insert(engine: AsyncEngine) -> AsyncIterator[None]:
    """Inserting an event with external_id "down" fails as if PostgreSQL were shutting down
    (SQLSTATE 57P01); "deadlock" fails with a deadlock (40P01) the first time only."""
    async with engine.begin() as conn:
        await conn.execute(text("CREATE SEQUENCE test_deadlock_seq"))
        await conn.execute(
            text(
                "CREATE FUNCTION test_fail_event() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN IF NEW.external_id = 'down' THEN "
                "RAISE EXCEPTION 'terminating' USING ERRCODE = '57P01'; END IF; "
                "IF NEW.external_id = 'deadlock' AND nextval('test_deadlock_seq') = 1 THEN "
                "RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER test_fail_event BEFORE INSERT ON events "
                "FOR EACH ROW EXECUTE FUNCTION test_fail_event()"
            )
        )
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER test_fail_event ON events"))
        await conn.execute(text("DROP FUNCTION test_fail_event()"))
        await conn.execute(text("DROP SEQUENCE test_deadlock_seq"))


@pytest.mark.usefixtures("failing_insert")
async def test_database_unavailable_while_writing_is_503_and_writes_nothing(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await post_batch(api, [*items(3), event_body("down")], 2)
    assert response.status_code == 503
    assert response.json()["error"]["exception"] == "service_unavailable_exception"
    assert await row_counts(engine) == (0, 0)


@pytest.mark.usefixtures("failing_insert")
async def test_a_deadlock_victim_batch_is_rerun_once_and_written_once(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await post_batch(api, [*items(3), event_body("deadlock", records=RECORDS)])
    assert response.status_code == 204, response.text
    assert await row_counts(engine) == (4, 12)
    assert await total(api) == 4


# -- concurrency ---------------------------------------------------------------------------------


async def test_concurrent_batches_with_overlapping_duplicates(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Four batches of 100 over 250 relations, in different orders: each relation once."""
    batches = [
        [event_body(f"o{i}", records=RECORDS) for i in range(start, start + 100)]
        for start in (0, 50, 100, 150)
    ]
    batches[1].reverse()
    batches[3] = batches[3][::2] + batches[3][1::2]
    responses = await asyncio.gather(*(post_batch(api, b, 2) for b in batches))
    written = 0
    for response in responses:
        assert response.status_code in (200, 204), response.text
        if response.status_code == 200:
            report = response.json()["data"]
            written += report["written"]
            assert {
                p["reason"] for item in report["failed_items"] for p in item["invalid_params"]
            } == {"relation_already_exists"}
        else:
            written += 100
    assert written == 250
    assert await row_counts(engine) == (250, 750)
    assert await total(api) == 250
    assert await total(api, event_type_id=PURCHASE) == 250


async def test_concurrent_all_or_nothing_batches_one_wins(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    batch = items(50, "same")
    responses = await asyncio.gather(*(post_batch(api, list(reversed(batch))) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [204, 400, 400, 400]
    assert await row_counts(engine) == (50, 150)
    assert await total(api) == 50


async def test_batch_racing_single_posts_writes_each_relation_once(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    events = items(40, "race")
    singles = [api.post("/events", json=body) for body in reversed(events)]
    results = await asyncio.gather(post_batch(api, events, 2), *singles)
    batch_response, single_responses = results[0], results[1:]
    assert batch_response.status_code in (200, 204), batch_response.text
    batch_written = (
        40 if batch_response.status_code == 204 else batch_response.json()["data"]["written"]
    )
    singles_written = sum(r.status_code == 201 for r in single_responses)
    assert all(r.status_code in (201, 400) for r in single_responses)
    assert batch_written + singles_written == 40
    assert await row_counts(engine) == (40, 120)
    assert await total(api) == 40
    assert await total(api, event_type_id=PURCHASE) == 40
