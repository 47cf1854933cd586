"""Each app obeys the settings it was made with: two apps in one process share no state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.settings import get_settings
from events_api.main import create_app
from tests.fixtures.apps import Served, client, serving
from tests.fixtures.helpers import basic, event_body


@pytest.fixture
async def strict(engine: AsyncEngine) -> AsyncIterator[Served]:
    settings = get_settings().model_copy(
        update={
            "max_page_size": 5,
            "auth_failures_per_address": 1,
            "project_timezone": "Pacific/Kiritimati",  # UTC+14
            "max_body_bytes": 1024,
        }
    )
    async with serving(create_app(settings, engine)) as app:
        yield app


@pytest.fixture
async def lenient(engine: AsyncEngine) -> AsyncIterator[Served]:
    settings = get_settings().model_copy(
        update={"max_page_size": 1000, "auth_failures_per_address": 0, "project_timezone": "UTC"}
    )
    async with serving(create_app(settings, engine)) as app:
        yield app


async def test_two_apps_each_obey_their_own_settings(
    strict: Served, lenient: Served, credentials: tuple[str, str], catalog: None
) -> None:
    headers = {"Accept-Language": "en", **basic(*credentials)}
    async with client(strict, headers) as a, client(lenient, headers) as b:
        # page size
        too_many = await a.get("/events", params={"count": 10})
        assert too_many.status_code == 400
        assert too_many.json()["error"]["error_data"]["invalid_params"][0]["name"] == "count"
        assert (await b.get("/events", params={"count": 10})).status_code == 200

        # body limit
        padded = event_body("big", data="x" * 2000)
        assert (await a.post("/events", json=padded)).status_code == 413
        assert (await b.post("/events", json=padded)).status_code == 201

        # time zone of created_at when none is sent
        a_id = (await a.post("/events", json=event_body("tz-a"))).json()["data"]["event_id"]
        b_id = (await b.post("/events", json=event_body("tz-b"))).json()["data"]["event_id"]
        a_at = (await a.get(f"/events/{a_id}")).json()["data"]["created_at"]
        b_at = (await b.get(f"/events/{b_id}")).json()["data"]["created_at"]
        fmt = "%Y-%m-%d %H:%M:%S"
        shift = datetime.strptime(a_at, fmt) - datetime.strptime(b_at, fmt)
        assert abs(shift - timedelta(hours=14)) < timedelta(minutes=1)

    # failed-login limits: one failure per address in the strict app, none in the lenient one
    wrong = {"Accept-Language": "en", **basic("nobody", "wrong")}
    async with client(strict, wrong, address="127.0.9.1") as a:
        assert (await a.get("/events")).status_code == 401
        assert (await a.get("/events")).status_code == 429
    async with client(lenient, wrong, address="127.0.9.1") as b:
        for _ in range(3):
            assert (await b.get("/events")).status_code == 401
