"""Each process caches the catalog and accepted credentials, and drops them when PostgreSQL
notifies a change."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.api_users.service import CHANNEL as USERS_CHANNEL
from events_api.api_users.service import AcceptedCredentials, revoke_user
from events_api.catalog.cache import CHANNEL
from tests.fixtures.apps import Served, settled
from tests.fixtures.helpers import DEMO_CATALOG, REGISTRATION, ROOT, basic, event_body


async def post_note(api: httpx.AsyncClient, external_id: str) -> httpx.Response:
    records = [{"property_id": "note", "property_value": "hi"}]
    return await api.post(
        "/events", json=event_body(external_id, event_type_id=REGISTRATION, records=records)
    )


async def eventually_refused(api: httpx.AsyncClient) -> int:
    for attempt in range(100):
        response = await post_note(api, f"after-{attempt}")
        if response.status_code == 400:
            params = response.json()["error"]["error_data"]["invalid_params"]
            assert [(p["name"], p["reason"]) for p in params] == [
                ("property_id", "not_allowed_value")
            ]
            return attempt
        assert response.status_code == 201
        await asyncio.sleep(0.02)
    raise AssertionError("the change never reached the cache")


async def test_cached_until_a_change_is_notified(
    api: httpx.AsyncClient, engine: AsyncEngine, app: Served
) -> None:
    await settled(app, engine)
    assert (await post_note(api, "warm")).status_code == 201
    async with engine.begin() as conn:  # a change that nobody announces ...
        await conn.execute(
            text(
                "DELETE FROM event_type_properties "
                "WHERE event_type_id = :t AND property_id = 'note'"
            ),
            {"t": REGISTRATION},
        )
    assert (await post_note(api, "cached")).status_code == 201  # ... is not seen yet
    async with engine.begin() as conn:
        await conn.execute(text(f"NOTIFY {CHANNEL}"))
    await eventually_refused(api)


async def test_catalog_load_in_another_process_reaches_this_one(
    api: httpx.AsyncClient, database_url: str, tmp_path: Path, app: Served, engine: AsyncEngine
) -> None:
    await settled(app, engine)
    assert (await post_note(api, "warm")).status_code == 201
    catalog = yaml.safe_load(DEMO_CATALOG.read_text())
    for event_type in catalog["event_types"]:
        if event_type["event_type_id"] == REGISTRATION:
            event_type["event_properties"] = ["channels"]
    changed = tmp_path / "catalog.yaml"
    changed.write_text(yaml.safe_dump(catalog))
    subprocess.run(
        [sys.executable, "-m", "events_api.cli", "catalog", "load", str(changed)],
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    await eventually_refused(api)


async def test_accepted_credentials_are_remembered_until_users_change(
    anon: httpx.AsyncClient, credentials: tuple[str, str], engine: AsyncEngine, app: Served
) -> None:
    await settled(app, engine)
    headers = basic(*credentials)
    assert (await anon.get("/events", headers=headers)).status_code == 200
    async with engine.begin() as conn:  # revoked behind the server's back: not announced ...
        await conn.execute(text("UPDATE api_users SET revoked_at = now()"))
    assert (await anon.get("/events", headers=headers)).status_code == 200  # ... so remembered
    wrong = basic(credentials[0], credentials[1] + "x")
    assert (await anon.get("/events", headers=wrong)).status_code == 401  # failures never are
    async with engine.begin() as conn:
        await conn.execute(text(f"NOTIFY {USERS_CHANNEL}"))
    for _ in range(100):
        if (await anon.get("/events", headers=headers)).status_code == 401:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the revocation never reached the server")


async def test_revoke_through_the_service_is_seen_by_the_next_request(
    anon: httpx.AsyncClient, credentials: tuple[str, str], engine: AsyncEngine, app: Served
) -> None:
    await settled(app, engine)
    headers = basic(*credentials)
    assert (await anon.get("/events", headers=headers)).status_code == 200
    async with engine.begin() as conn:
        await revoke_user(conn, credentials[0], app.state.part(AcceptedCredentials))
    assert (await anon.get("/events", headers=headers)).status_code == 401
