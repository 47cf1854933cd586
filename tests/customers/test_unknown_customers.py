"""CHECK_CUSTOMER_IDS: once the customer directory holds a customer, events must name one of its
customers (400 `not_found` naming `customer_id`, as CareCloud answers an id in a body that does
not exist) and GET /customers/{customer_id}/events of any other customer is a 404. With no
directory, or the setting off, any customer_id is accepted, as before."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.migrate import alembic_config, upgrade
from events_api.core.settings import get_settings
from events_api.customers.cache import CustomerDirectory
from events_api.customers.service import load, parse
from events_api.main import create_app
from tests.events.test_create_event import row_counts
from tests.fixtures.apps import Served, client, serving
from tests.fixtures.cli import run_cli
from tests.fixtures.helpers import basic, event_body, invalid_params

KNOWN = "cust-known"  # in the directory, without identifiers
NAMED = "cust-named"  # in the directory, with an e-mail
UNKNOWN = "cust-unknown"
DIRECTORY = {"customers": [{"customer_id": KNOWN}, {"customer_id": NAMED, "email": "n@x.cz"}]}

NOT_FOUND_EN = "No customer with this ID exists in the customer directory."
NOT_FOUND_CS = "Zákazník s tímto ID v adresáři zákazníků neexistuje."


async def load_directory(engine: AsyncEngine, app: Served, data: Any = DIRECTORY) -> None:
    """Load the directory, and let the app forget what it knew now (the NOTIFY that tells it
    arrives a moment later)."""
    async with engine.begin() as conn:
        await load(conn, parse(data))
    app.state.part(CustomerDirectory).clear()


def not_found(name: str, customer_id: str, message: str = NOT_FOUND_EN) -> dict[str, Any]:
    return {"name": name, "reason": "not_found", "value": customer_id, "message": message}


def customer_404(response: httpx.Response, customer_id: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json() == {
        "error": {
            "type": "about:blank",
            "exception": "not_found_exception",
            "title": "Not found",
            "detail": f'Resource "customers" with ID "{customer_id}" was not found.',
            "error_data": {"resource_name": "customers", "resource_id": customer_id},
        }
    }


async def test_without_a_directory_any_customer_is_accepted(api: httpx.AsyncClient) -> None:
    created = await api.post("/events", json=event_body("a", customer_id=UNKNOWN))
    assert created.status_code == 201, created.text
    batch = await api.post("/events/batch", json={"events": [event_body("b", customer_id="x")]})
    assert batch.status_code == 204, batch.text
    listed = await api.get("/customers/never-seen/events")
    assert listed.status_code == 200
    assert listed.json() == {"data": {"customer_events": [], "total_items": 0}}


async def test_a_directory_without_customers_is_no_directory(
    api: httpx.AsyncClient, engine: AsyncEngine, app: Served
) -> None:
    await load_directory(engine, app, {"customers": []})
    created = await api.post("/events", json=event_body("a", customer_id=UNKNOWN))
    assert created.status_code == 201, created.text


async def test_post_event_of_an_unknown_customer_is_400_not_found(
    api: httpx.AsyncClient, engine: AsyncEngine, app: Served
) -> None:
    await load_directory(engine, app)
    refused = await api.post("/events", json=event_body("a", customer_id=UNKNOWN))
    assert invalid_params(refused) == [not_found("customer_id", UNKNOWN)]
    assert refused.json()["error"]["detail"] == "One or more parameters are invalid."
    czech = await api.post(
        "/events", json=event_body("a", customer_id=UNKNOWN), headers={"Accept-Language": "cs"}
    )
    assert invalid_params(czech) == [not_found("customer_id", UNKNOWN, NOT_FOUND_CS)]
    assert await row_counts(engine) == (0, 0)
    for customer in (KNOWN, NAMED):  # listed without identifiers counts too
        created = await api.post("/events", json=event_body("a", customer_id=customer))
        assert created.status_code == 201, created.text
    by_email = event_body("b")
    by_email["event"].update(customer_identifier_type="email", customer_identifier_value="n@x.cz")
    del by_email["event"]["customer_id"]
    assert (await api.post("/events", json=by_email)).status_code == 201


async def test_unknown_customer_is_listed_with_every_other_problem(
    api: httpx.AsyncClient, engine: AsyncEngine, app: Served
) -> None:
    await load_directory(engine, app)
    body = event_body(
        "a",
        customer_id=UNKNOWN,
        event_type_id="ffffffffffffffffffffffffff",
        created_at="yesterday",
    )
    problems = invalid_params(await api.post("/events", json=body))
    assert [(p["name"], p["reason"]) for p in problems] == [
        ("created_at", "invalid_value_format"),
        ("event_type_id", "not_found"),
        ("customer_id", "not_found"),
    ]


async def test_batch_names_each_unknown_customer_by_its_path(
    api: httpx.AsyncClient, engine: AsyncEngine, app: Served
) -> None:
    await load_directory(engine, app)
    items = [
        event_body("1", customer_id=KNOWN),
        event_body("2", customer_id=UNKNOWN),
        event_body("3", customer_id=NAMED),
        event_body("4", customer_id="other-unknown"),
    ]
    refused = await api.post("/events/batch", json={"events": items})
    assert invalid_params(refused) == [
        not_found("events[1].event.customer_id", UNKNOWN),
        not_found("events[3].event.customer_id", "other-unknown"),
    ]
    assert await row_counts(engine) == (0, 0)
    reported = await api.post("/events/batch", json={"events": items, "error_processing": 2})
    assert reported.status_code == 200, reported.text
    assert reported.json() == {
        "data": {
            "written": 2,
            "failed_items": [
                {"index": 1, "invalid_params": [not_found("events[1].event.customer_id", UNKNOWN)]},
                {
                    "index": 3,
                    "invalid_params": [not_found("events[3].event.customer_id", "other-unknown")],
                },
            ],
            "total_items": 2,
        }
    }
    assert (await row_counts(engine))[0] == 2


async def test_customer_events_of_an_unknown_customer_is_404(
    api: httpx.AsyncClient, engine: AsyncEngine, app: Served
) -> None:
    await api.post("/events", json=event_body("a", customer_id=UNKNOWN))  # before the directory
    await load_directory(engine, app)
    customer_404(await api.get(f"/customers/{UNKNOWN}/events"), UNKNOWN)
    customer_404(await api.get(f"/customers/{UNKNOWN}/events?count=abc"), UNKNOWN)
    head = await api.head(f"/customers/{UNKNOWN}/events")
    assert (head.status_code, head.content) == (404, b"")
    known = await api.get(f"/customers/{KNOWN}/events")
    assert known.status_code == 200
    assert known.json() == {"data": {"customer_events": [], "total_items": 0}}
    bad_page = await api.get(f"/customers/{KNOWN}/events?count=abc")
    assert [p["name"] for p in invalid_params(bad_page)] == ["count"]


@pytest.fixture
async def unchecked(
    engine: AsyncEngine, credentials: tuple[str, str], catalog: None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with CHECK_CUSTOMER_IDS=false."""
    settings = get_settings().model_copy(update={"check_customer_ids": False})
    headers = {"Accept-Language": "en", **basic(*credentials)}
    async with serving(create_app(settings, engine)) as served, client(served, headers) as api:
        yield api


async def test_with_the_check_off_any_customer_is_accepted(
    unchecked: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        await load(conn, parse(DIRECTORY))
    created = await unchecked.post("/events", json=event_body("a", customer_id=UNKNOWN))
    assert created.status_code == 201, created.text
    batch = await unchecked.post(
        "/events/batch", json={"events": [event_body("b", customer_id=UNKNOWN)]}
    )
    assert batch.status_code == 204, batch.text
    listed = await unchecked.get(f"/customers/{UNKNOWN}/events")
    assert listed.json()["data"]["total_items"] == 2


async def eventually(api: httpx.AsyncClient, status: int, external_id: str) -> None:
    """POST /events of UNKNOWN until it answers `status` (a notice takes a moment)."""
    for attempt in range(100):
        response = await api.post(
            "/events", json=event_body(f"{external_id}-{attempt}", customer_id=UNKNOWN)
        )
        if response.status_code == status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never answered {status}")


async def test_customers_load_in_another_process_reaches_the_cache(
    api: httpx.AsyncClient, database_url: str, app: Served, tmp_path: Path
) -> None:
    for _ in range(100):
        if app.state.listener.live:
            break
        await asyncio.sleep(0.02)
    assert app.state.listener.live
    # kept: "no directory" (asked once) ...
    warm = await api.post("/events", json=event_body("warm", customer_id=UNKNOWN))
    assert warm.status_code == 201, warm.text
    path = tmp_path / "customers.yaml"
    path.write_text(json.dumps({"customers": [{"customer_id": KNOWN}]}), encoding="utf-8")
    loaded = run_cli(database_url, "customers", "load", str(path))
    assert loaded.returncode == 0, loaded.stderr
    await eventually(api, 400, "after-load")  # ... until the load's NOTIFY drops it
    # kept: "UNKNOWN is not in it", until the next load lists it
    path.write_text(json.dumps({"customers": [{"customer_id": UNKNOWN}]}), encoding="utf-8")
    assert run_cli(database_url, "customers", "load", str(path)).returncode == 0
    await eventually(api, 201, "listed")


async def test_import_refuses_unknown_customers(
    api: httpx.AsyncClient, database_url: str, engine: AsyncEngine, app: Served, tmp_path: Path
) -> None:
    await load_directory(engine, app)
    source = tmp_path / "events.ndjson"
    lines = [event_body("1", customer_id=KNOWN), event_body("2", customer_id=UNKNOWN)]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = run_cli(database_url, "import", str(source), "--error-processing", "2")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"line 2: event.customer_id: not_found: {NOT_FOUND_EN} ({UNKNOWN})"
    ]
    assert result.stdout.strip().endswith("1 written, 0 duplicates, 1 invalid")
    listed = await api.get(f"/customers/{KNOWN}/events")
    assert listed.json()["data"]["total_items"] == 1


def test_migration_makes_the_customers_of_an_earlier_directory(scratch_url: str) -> None:
    """A directory loaded before revision 0006 kept customers with identifiers only: those are
    the directory's customers after the upgrade."""
    command.upgrade(alembic_config(scratch_url), "0005")
    engine = create_engine(scratch_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customer_identifiers VALUES "
                    "('email', '', 'a@x.cz', 'cust-a'), ('phone', '', '420', 'cust-a'), "
                    "('email', '', 'b@x.cz', 'cust-b')"
                )
            )
        upgrade(scratch_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT customer_id FROM customers ORDER BY 1")).scalars()
            assert list(rows) == ["cust-a", "cust-b"]
    finally:
        engine.dispose()
