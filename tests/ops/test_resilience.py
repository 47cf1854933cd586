"""Concurrency, slow queries, pool limits and graceful shutdown, against real server processes.

The server is `events-api serve` on the test database; clients talk HTTP on loopback. Every load
is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.settings import API_PREFIX
from tests.fixtures.figures import record
from tests.fixtures.helpers import basic, libpq
from tests.fixtures.loadgen import post_event, purchase_body
from tests.fixtures.servers import ServedApi, served


def client_for(
    server: ServedApi, credentials: tuple[str, str], **kwargs: object
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.base_url,
        headers={**basic(*credentials), "Accept-Language": "en"},
        timeout=httpx.Timeout(60),
        limits=httpx.Limits(max_connections=1000, max_keepalive_connections=1000),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def server(
    database_url: str, catalog: None, credentials: tuple[str, str], tmp_path: Path
) -> AsyncIterator[ServedApi]:
    with served(database_url, tmp_path / "server.log") as api:
        yield api


async def event_rows(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM event_property_records)"
                )
            )
        ).one()
    return row[0], row[1]


# -- concurrency ------------------------------------------------------------------------------


async def test_1000_concurrent_creates_make_exactly_1000_rows(
    server: ServedApi, credentials: tuple[str, str], engine: AsyncEngine
) -> None:
    async with client_for(server, credentials) as client:
        started = time.monotonic()
        results = await asyncio.gather(*(post_event(client, f"c-{n}") for n in range(1000)))
        elapsed = time.monotonic() - started
    statuses = {r.status for r in results}
    assert statuses == {201}, [r for r in results if r.status != 201][:3]
    assert len({r.event_id for r in results}) == 1000
    assert await event_rows(engine) == (1000, 3000)
    record(
        "concurrent_creates",
        requests=1000,
        answered_201=1000,
        rows=1000,
        records=3000,
        seconds=round(elapsed, 2),
        events_lost=0,
    )


async def test_100_concurrent_identical_creates_make_one_event(
    server: ServedApi, credentials: tuple[str, str], engine: AsyncEngine
) -> None:
    body = purchase_body("the-same-one")
    async with client_for(server, credentials) as client:
        results = await asyncio.gather(*(post_event(client, "same", body) for _ in range(100)))
        duplicate = await client.post(f"{API_PREFIX}/events", json=body)
    created = [r for r in results if r.status == 201]
    refused = [r for r in results if r.status == 400]
    assert len(created) == 1, {r.status for r in results}
    assert len(refused) == 99
    assert all(r.exception == "bad_request_exception" for r in refused)
    params = duplicate.json()["error"]["error_data"]["invalid_params"]
    assert [p["reason"] for p in params] == ["relation_already_exists"]
    assert await event_rows(engine) == (1, 3)
    record("concurrent_identical_creates", requests=100, answered_201=1, answered_400=99, rows=1)


# -- one slow query cannot take the server down ---------------------------------------------

SLOW_ENV = {
    "DB_STATEMENT_TIMEOUT_MS": "1000",
    "DB_POOL_SIZE": "3",
    "DB_MAX_OVERFLOW": "0",
    "DB_POOL_TIMEOUT": "1",
    "RETRY_AFTER_SECONDS": "3",
}


@contextmanager
def table_locked(database_url: str, table: str) -> Iterator[psycopg.Connection[object]]:
    """Another connection holds an exclusive lock on `table` (everything touching it waits)."""
    with psycopg.connect(libpq(database_url), autocommit=False) as conn:
        conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield conn
        finally:
            conn.rollback()


async def timed_get(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await client.get(API_PREFIX + path)
    return response, time.monotonic() - started


async def test_slow_query_times_out_with_503_while_others_succeed(
    database_url: str, catalog: None, credentials: tuple[str, str], tmp_path: Path
) -> None:
    with served(database_url, tmp_path / "server.log", env=SLOW_ENV) as api:
        async with client_for(api, credentials) as client:
            created = await post_event(client, "slow")
            assert created.status == 201
            event_id = created.event_id
            with table_locked(database_url, "event_property_records"):
                # one request stuck behind the lock; many others at the same time
                stuck = asyncio.create_task(
                    timed_get(client, f"/events/{event_id}/property-records")
                )
                others = await asyncio.gather(
                    *(timed_get(client, f"/events/{event_id}") for _ in range(30)),
                    *(timed_get(client, "/events") for _ in range(30)),
                )
                slow, slow_elapsed = await stuck
            assert {r.status_code for r, _ in others} == {200}
            # not held up by the stuck one (relative, not a wall-clock bound: CI machines vary)
            assert statistics.median(t for _, t in others) < slow_elapsed
            assert slow.status_code == 503, slow.text
            assert slow.json()["error"]["exception"] == "service_unavailable_exception"
            assert slow.headers["retry-after"] == "3"
            assert 0.9 <= slow_elapsed < 3.0, slow_elapsed

            # every pooled connection stuck: the rest wait at most DB_POOL_TIMEOUT, then 503
            with table_locked(database_url, "event_property_records"):
                jammed = await asyncio.gather(
                    *(timed_get(client, f"/events/{event_id}/property-records") for _ in range(9))
                )
            assert {r.status_code for r, _ in jammed} == {503}
            assert all(r.headers["retry-after"] == "3" for r, _ in jammed)
            # statement timeout (1 s) + pool wait (1 s) + slack
            assert max(t for _, t in jammed) < 3.5, [round(t, 2) for _, t in jammed]

            # nothing was taken down: the same server answers normally at once
            after = await asyncio.gather(
                *(timed_get(client, f"/events/{event_id}/property-records") for _ in range(10))
            )
            assert {r.status_code for r, _ in after} == {200}
        assert api.process.poll() is None
    record(
        "slow_query",
        requests=1 + 1 + 60 + 9 + 10,
        faults=2,
        others_ok=60,
        slow_503_s=round(slow_elapsed, 2),
        jammed_503=9,
        jammed_slowest_s=round(max(t for _, t in jammed), 2),
        server_errors_500=0,
    )


# -- graceful shutdown ------------------------------------------------------------------------


async def test_sigterm_finishes_in_flight_requests_refuses_new_ones_and_exits(
    database_url: str, catalog: None, credentials: tuple[str, str], tmp_path: Path
) -> None:
    env = {"DB_STATEMENT_TIMEOUT_MS": "30000"}
    with served(database_url, tmp_path / "server.log", env=env) as api:
        async with client_for(api, credentials) as client:
            assert (await post_event(client, "before-shutdown")).status == 201
            with table_locked(database_url, "events") as locker:
                gets = [asyncio.create_task(timed_get(client, "/events")) for _ in range(3)]
                post = asyncio.create_task(post_event(client, "in-flight"))
                # all four in flight (the 3 GETs and the writer's INSERT) before the signal
                await _wait_for_lock_waiters(locker, 4)
                terminated_at = time.monotonic()
                api.process.send_signal(15)  # SIGTERM
                refused = await _new_connection_refused(api, within=5.0)
                await asyncio.sleep(0.5)
                assert api.process.poll() is None, "exited with requests in flight"
            # lock released: the in-flight requests complete normally
            got = await asyncio.wait_for(asyncio.gather(*gets), timeout=30)
            posted = await asyncio.wait_for(post, timeout=30)
        exit_code = await asyncio.to_thread(api.process.wait, 30)
        exited_after = time.monotonic() - terminated_at
    assert all(r.status_code == 200 for r, _ in got), [r.text for r, _ in got]
    assert posted.status == 201, posted
    assert refused
    # uvicorn finishes, then re-raises the SIGTERM it caught; `serve` turns that into a normal
    # exit (so the embedded PostgreSQL is stopped and temporary files go) with status 128 + 15
    assert exit_code in (0, 143), api.log()[-2000:]
    assert exited_after < 15
    record(
        "graceful_shutdown",
        in_flight=4,
        in_flight_completed=4,
        new_connection_refused=True,
        exit_code=exit_code,
        exit_seconds=round(exited_after, 2),
    )


async def test_sigterm_gives_up_on_a_stuck_request_after_the_configured_time(
    database_url: str, catalog: None, credentials: tuple[str, str], tmp_path: Path
) -> None:
    env = {"DB_STATEMENT_TIMEOUT_MS": "60000", "SHUTDOWN_TIMEOUT_SECONDS": "2"}
    with served(database_url, tmp_path / "server.log", env=env) as api:
        async with client_for(api, credentials) as client:
            with table_locked(database_url, "events") as locker:
                stuck = asyncio.create_task(timed_get(client, "/events"))
                await _wait_for_lock_waiters(locker, 1)
                terminated_at = time.monotonic()
                api.process.send_signal(15)  # SIGTERM
                exit_code = await asyncio.to_thread(api.process.wait, 30)
                exited_after = time.monotonic() - terminated_at
                stuck.cancel()
    assert exit_code in (0, 143, 1), api.log()[-2000:]
    assert 1.5 <= exited_after < 10, exited_after
    record("graceful_shutdown_timeout", configured_s=2, exit_seconds=round(exited_after, 2))


async def _wait_for_lock_waiters(locker: psycopg.Connection[object], count: int) -> None:
    """Until `count` API connections wait on a lock (the requests are really in flight)."""
    deadline = time.monotonic() + 15
    with psycopg.connect(locker.info.dsn, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'events-api' AND wait_event_type = 'Lock'"
            ).fetchone()
            if row and row[0] >= count:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("requests never reached the database")


async def _new_connection_refused(api: ServedApi, within: float) -> bool:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as fresh:
        while time.monotonic() < deadline:
            try:
                await fresh.get(f"{api.base_url}/health/live")
            except httpx.ConnectError:
                return True
            await asyncio.sleep(0.05)
    return False
