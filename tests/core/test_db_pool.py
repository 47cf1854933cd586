"""Pooled connections that PostgreSQL closed are replaced without a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.db import create_engine
from events_api.core.settings import API_PREFIX, get_settings
from events_api.main import create_app
from tests.fixtures.apps import serving
from tests.fixtures.helpers import basic


@pytest.fixture
async def one_connection_app(
    request: pytest.FixtureRequest, database_url: str, credentials: tuple[str, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine]]:
    idle: float = request.param
    settings = get_settings().model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_ping_idle_seconds": idle}
    )
    engine = create_engine(settings, database_url)
    app: Any = create_app(settings, engine)
    async with serving(app) as served:
        transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
        headers = {**basic(*credentials), "Accept-Language": "en"}
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://t{API_PREFIX}", headers=headers
        ) as client:
            yield client, engine
    await engine.dispose()


async def kill_pool_connection(app_engine: AsyncEngine, admin: AsyncEngine) -> None:
    """Terminate the app's only pooled connection from another session."""
    async with app_engine.connect() as conn:
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    async with admin.begin() as conn:
        killed = (
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        ).scalar_one()
    assert killed


@pytest.mark.parametrize("one_connection_app", [0.0], indirect=True)
async def test_idle_connection_killed_is_replaced_before_use(
    one_connection_app: tuple[httpx.AsyncClient, AsyncEngine], engine: AsyncEngine
) -> None:
    client, app_engine = one_connection_app
    assert (await client.get("/events")).status_code == 200
    await kill_pool_connection(app_engine, engine)
    assert (await client.get("/events")).status_code == 200  # pinged, replaced, served


@pytest.mark.parametrize("one_connection_app", [3600.0], indirect=True)
async def test_connection_killed_in_use_costs_one_503_then_recovers(
    one_connection_app: tuple[httpx.AsyncClient, AsyncEngine], engine: AsyncEngine
) -> None:
    client, app_engine = one_connection_app
    assert (await client.get("/events")).status_code == 200
    await kill_pool_connection(app_engine, engine)
    failed = await client.get("/events")
    assert failed.status_code == 503
    assert failed.json()["error"]["exception"] == "service_unavailable_exception"
    assert "retry-after" in failed.headers
    assert (await client.get("/events")).status_code == 200


@pytest.mark.parametrize("one_connection_app", [0.0], indirect=True)
async def test_a_pinged_connection_serves_requests(
    one_connection_app: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    client, _ = one_connection_app
    for _ in range(3):  # from the second on, each checkout pings the (healthy) connection
        assert (await client.get("/events")).status_code == 200
        assert (await client.get("/events/0123456789abcdef0123456789")).status_code == 404
