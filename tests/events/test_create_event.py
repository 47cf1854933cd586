"""POST /events: success paths, uniqueness, atomicity."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.settings import get_settings
from events_api.events.writer import GroupCommitWriter
from tests.fixtures.helpers import (
    PURCHASE,
    REGISTRATION,
    create,
    event_body,
    property_item,
    reasons,
)


async def get_event(api: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    response = await api.get(f"/events/{event_id}")
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["data"]
    return event


async def test_seed_example_returns_201_with_a_time_ordered_hex_id(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/events",
        json=event_body(records=[{"property_id": "has_purchase", "property_value": "true"}]),
    )
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["data"]
    assert list(body["data"]) == ["event_id"]
    first = body["data"]["event_id"]
    assert re.fullmatch(r"[0-9a-f]{26}", first)
    second = await create(api, "next-one")
    assert second > first  # ids grow with time, so inserts append to the index


async def test_created_event_reads_back_field_for_field(api: httpx.AsyncClient) -> None:
    event_id = await create(
        api,
        "157613",
        secondary_external_id="2nd",
        created_at="2021-04-29 14:51:43",
        data='{"test":10,"test2":20}',
    )
    assert await get_event(api, event_id) == {
        "event_id": event_id,
        "event_type_id": PURCHASE,
        "customer_id": "85bc5819e09dab95437552ce79",
        "external_id": "157613",
        "data": '{"test":10,"test2":20}',
        "created_at": "2021-04-29 14:51:43",
        "secondary_external_id": "2nd",
        "state": 1,
        "property_records": None,
    }


@pytest.mark.parametrize(
    ("sent", "stored"), [(157613, "157613"), (-5, "-5"), (1.5, "1.5"), ("00042", "00042")]
)
async def test_external_id_accepts_numbers_and_stores_text(
    api: httpx.AsyncClient, sent: Any, stored: str
) -> None:
    event_id = await create(api, sent)
    assert (await get_event(api, event_id))["external_id"] == stored


@pytest.mark.parametrize(
    "data",
    [
        "plain text",
        '{"id_account_history_change":6}',
        ["a", "b", "c"],
        {"zeta": 1, "alpha": {"nested": [1, 2.5, None, True]}, "mid": "x"},
        {},
        [],
    ],
)
async def test_data_comes_back_exactly_as_sent(api: httpx.AsyncClient, data: Any) -> None:
    event_id = await create(api, "d", data=data)
    returned = (await get_event(api, event_id))["data"]
    assert returned == data
    if isinstance(data, dict):
        assert list(returned) == list(data)  # key order kept


async def test_created_at_accepts_iso_t_and_defaults_to_now(api: httpx.AsyncClient) -> None:
    iso = await create(api, "iso", created_at="2020-02-29T23:59:59")
    assert (await get_event(api, iso))["created_at"] == "2020-02-29 23:59:59"
    before = datetime.now(get_settings().tz).replace(tzinfo=None, microsecond=0)
    default = await create(api, "default")
    created = datetime.strptime((await get_event(api, default))["created_at"], "%Y-%m-%d %H:%M:%S")
    assert before - timedelta(seconds=1) <= created <= before + timedelta(seconds=5)


async def test_read_only_fields_sent_by_the_client_are_ignored(api: httpx.AsyncClient) -> None:
    event_id = await create(
        api,
        "ro",
        event_id="ffffffffffffffffffffffffff",
        state=0,
        property_records=[{"property_id": "note", "property_value": "ignored"}],
    )
    assert event_id != "ffffffffffffffffffffffffff"
    event = await get_event(api, event_id)
    assert event["state"] == 1
    records = (await api.get(f"/events/{event_id}/property-records")).json()["data"]
    assert records == {"property_records": [], "total_items": 0}


GOLD, SILVER = property_item("1", "Gold"), property_item("2", "Silver")
WEB, POS = property_item("web", "Web"), property_item("pos", "Point of sale")
APP = property_item("app", "Mobile app")

# (property, value sent, value answered: the documented form of the property's data type)
VALID_VALUES: list[tuple[str, Any, Any]] = [
    ("has_purchase", True, True),
    ("has_purchase", "false", False),
    ("amount", 149.90, 149.9),
    ("amount", 3, 3),
    ("amount", "12.5", 12.5),
    ("items_count", 42, 42),
    ("items_count", "-7", -7),
    ("purchase_date", "1985-06-15", "1985-06-15"),
    ("note", "VIP customer", "VIP customer"),
    ("tier", [GOLD], [GOLD]),
    ("tier", [{"id": "1", "name": "client's name", "state": 2}], [GOLD]),
    ("tier", "2", [SILVER]),
    ("tier", 2, [SILVER]),
    ("tier", ["2"], [SILVER]),
    ("channels", [{"id": "web"}, {"id": "pos"}], [WEB, POS]),
    ("channels", ["app"], [APP]),
    ("channels", [], []),
    ("note", None, None),
]


@pytest.mark.parametrize(("property_id", "value", "answered"), VALID_VALUES)
async def test_valid_property_values_come_back_in_the_documented_form(
    api: httpx.AsyncClient, property_id: str, value: Any, answered: Any
) -> None:
    event_id = await create(
        api, "v", records=[{"property_id": property_id, "property_value": value}]
    )
    response = await api.get(f"/events/{event_id}/property-records")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["total_items"] == 1
    (record,) = data["property_records"]
    assert record["property_record_id"] == f"{property_id}:{event_id}"
    assert record["property_id"] == property_id
    assert record["property_value"] == answered
    assert type(record["property_value"]) is type(answered)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", record["last_change"])


async def test_property_records_keep_the_order_they_were_sent_in(api: httpx.AsyncClient) -> None:
    records: list[dict[str, Any]] = [
        {"property_id": "note", "property_value": "n"},
        {"property_id": "amount", "property_value": 1.25},
        {"property_id": "has_purchase", "property_value": False},
    ]
    event_id = await create(api, "order", records=records)
    data = (await api.get(f"/events/{event_id}/property-records")).json()["data"]
    assert [(r["property_id"], r["property_value"]) for r in data["property_records"]] == [
        ("note", "n"),
        ("amount", 1.25),
        ("has_purchase", False),
    ]
    assert [r["property_name"] for r in data["property_records"]] == [
        "Note",
        "Amount",
        "Has purchase",
    ]


async def test_a_thousand_property_records_is_the_limit(api: httpx.AsyncClient) -> None:
    many = [{"property_id": "note", "property_value": str(i)} for i in range(1001)]
    response = await api.post("/events", json=event_body(records=many))
    assert reasons(response) == {("property_records", "not_allowed_value")}


async def test_same_relation_twice_is_relation_already_exists(api: httpx.AsyncClient) -> None:
    await create(api, "dup")
    response = await api.post("/events", json=event_body("dup"))
    assert response.status_code == 400
    (param,) = response.json()["error"]["error_data"]["invalid_params"]
    assert param["name"] == "event_id_event_type_id_customer_id_external_id_secondary_external_id"
    assert param["reason"] == "relation_already_exists"
    assert param["value"] == "8bed991c68a470e7aaeffbf048, 85bc5819e09dab95437552ce79, dup"
    assert param["message"].startswith("Relation for this combination")
    listing = (await api.get("/events")).json()["data"]
    assert listing["total_items"] == 1


async def test_null_secondary_external_id_equals_null(api: httpx.AsyncClient) -> None:
    await create(api, "n", secondary_external_id=None)
    again = await api.post("/events", json=event_body("n"))
    assert reasons(again) == {
        (
            "event_id_event_type_id_customer_id_external_id_secondary_external_id",
            "relation_already_exists",
        )
    }


async def test_any_differing_part_of_the_relation_is_a_new_event(api: httpx.AsyncClient) -> None:
    await create(api, "r")
    await create(api, "r", secondary_external_id="s1")
    await create(api, "r", secondary_external_id="s2")
    await create(api, "r", customer_id="other-customer")
    await create(api, "r", event_type_id=REGISTRATION)
    assert (await api.get("/events")).json()["data"]["total_items"] == 5


async def test_concurrent_identical_creates_give_exactly_one_201(api: httpx.AsyncClient) -> None:
    body = event_body("race", records=[{"property_id": "note", "property_value": "x"}])
    responses = await asyncio.gather(*(api.post("/events", json=body) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [400] * 19
    for response in responses:
        if response.status_code == 400:
            assert reasons(response) == {
                (
                    "event_id_event_type_id_customer_id_external_id_secondary_external_id",
                    "relation_already_exists",
                )
            }
    listing = (await api.get("/events", params={"include_property_records": "true"})).json()
    assert listing["data"]["total_items"] == 1
    assert len(listing["data"]["events"][0]["property_records"]) == 1


async def test_concurrent_creates_share_transactions(api: httpx.AsyncClient, app: Any) -> None:
    writer = app.state.part(GroupCommitWriter)
    transactions, events = writer.transactions, writer.events_committed
    bodies = [
        event_body(f"gc{i}", records=[{"property_id": "note", "property_value": "x"}])
        for i in range(60)
    ]
    responses = await asyncio.gather(*(api.post("/events", json=body) for body in bodies))
    assert [r.status_code for r in responses] == [201] * 60
    assert writer.events_committed - events == 60
    assert writer.transactions - transactions < 60  # some commits carried several events


async def test_concurrent_distinct_creates_all_land(api: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(api.post("/events", json=event_body(f"c{i}")) for i in range(50))
    )
    assert [r.status_code for r in responses] == [201] * 50
    assert len({r.json()["data"]["event_id"] for r in responses}) == 50
    assert (await api.get("/events")).json()["data"]["total_items"] == 50


@pytest.fixture
async def refusing_trigger(engine: AsyncEngine) -> AsyncIterator[None]:
    """A record whose value is "boom" fails inside PostgreSQL, after its event was inserted."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION test_refuse_record() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN IF NEW.property_value::text = '\"boom\"' THEN "
                "RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER test_refuse_record BEFORE INSERT ON event_property_records "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse_record()"
            )
        )
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER test_refuse_record ON event_property_records"))
        await conn.execute(text("DROP FUNCTION test_refuse_record()"))


async def row_counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        counts = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM events), "
                    "(SELECT count(*) FROM event_property_records)"
                )
            )
        ).one()
    return int(counts[0]), int(counts[1])


@pytest.mark.usefixtures("refusing_trigger")
async def test_event_and_records_are_written_all_or_nothing(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """A record insert that fails inside PostgreSQL takes the event down with it."""
    records: list[dict[str, Any]] = [
        {"property_id": "has_purchase", "property_value": True},
        {"property_id": "note", "property_value": "boom"},
    ]
    response = await api.post("/events", json=event_body("atomic", records=records))
    assert response.status_code == 500
    assert response.json()["error"]["exception"] == "internal_server_error_exception"
    assert "refused by test trigger" not in response.text  # no internals leak
    assert await row_counts(engine) == (0, 0)
    # the same event goes through once the failure is gone: nothing half-written blocks it
    records[1]["property_value"] = "fine"
    assert (
        await api.post("/events", json=event_body("atomic", records=records))
    ).status_code == 201
    assert await row_counts(engine) == (1, 2)


@pytest.mark.usefixtures("refusing_trigger")
async def test_a_failing_event_fails_alone_in_a_group_commit(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    bodies = [
        event_body(
            f"g{i}", records=[{"property_id": "note", "property_value": "boom" if i == 7 else "ok"}]
        )
        for i in range(40)
    ]
    bodies += [bodies[3]] * 5  # duplicates of a neighbour, in the same batches
    responses = await asyncio.gather(*(api.post("/events", json=body) for body in bodies))
    statuses = [r.status_code for r in responses]
    assert statuses[7] == 500
    others = statuses[:3] + statuses[4:7] + statuses[8:40]
    assert others == [201] * 38
    assert sorted([statuses[3], *statuses[40:]]) == [201] + [400] * 5
    assert await row_counts(engine) == (39, 39)
