"""PostgreSQL faults under load, against a real `events-api serve` process.

The database is a throwaway cluster (tests/pgcluster.py) that these tests stop, start and
SIGKILL; the server is never restarted. Clients talk HTTP on loopback only; every load loop is
bounded in time and in count.

These tests bring their own cluster, so they run once per CI run: in the embedded-database run
(they are skipped when TEST_DATABASE_URL names a server).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.figures import record
from tests.fixtures.helpers import basic, ready_database
from tests.fixtures.loadgen import Load, Result, post_event, run_load
from tests.fixtures.pgcluster import OWN_CLUSTERS, Cluster, running_cluster
from tests.fixtures.servers import served

pytestmark = OWN_CLUSTERS

CONNECT_TIMEOUT = 2
POOL_TIMEOUT = 2
RETRY_AFTER = 2
SERVER_ENV = {
    "DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
    "DB_POOL_TIMEOUT": str(POOL_TIMEOUT),
    "DB_STATEMENT_TIMEOUT_MS": "5000",
    "RETRY_AFTER_SECONDS": str(RETRY_AFTER),
}
# No request may take longer than a connect attempt plus a wait for the pool, plus slack for a
# loaded two-core machine.
MAX_FAILURE_SECONDS = CONNECT_TIMEOUT + POOL_TIMEOUT + 3


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with running_cluster() as db:
        yield db


@pytest.fixture(scope="module")
async def token(cluster: Cluster) -> str:
    """The cluster migrated, with the demo catalog and one API user."""
    return await ready_database(cluster.url, "faults")


def client_for(base_url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={**basic("faults", token), "Accept-Language": "en"},
        timeout=httpx.Timeout(30),
        limits=httpx.Limits(max_connections=64),
    )


def assert_503s_are_proper(results: list[Result]) -> None:
    for result in results:
        if result.status == 503:
            assert result.exception == "service_unavailable_exception", result
            assert result.retry_after == str(RETRY_AFTER), result


def verify_nothing_lost(cluster: Cluster, loads: list[Load]) -> dict[str, int]:
    """Every 201 is in the database with its three records; no event lacks any of its records."""
    created: dict[str, str] = {}
    answered_503: set[str] = set()
    for one in loads:
        created.update(one.created())
        answered_503 |= {r.key for r in one.results if r.status == 503}
    with cluster.connect() as conn:
        rows = conn.execute(
            "SELECT e.event_id, e.external_id, count(r.property_id), "
            "max(r.property_value::text) FILTER (WHERE r.property_id = 'note') "
            "FROM events e LEFT JOIN event_property_records r USING (event_id) "
            "GROUP BY e.event_id, e.external_id"
        ).fetchall()
    stored = {row[0]: (row[1], row[2], row[3]) for row in rows}
    missing = [key for key, event_id in created.items() if event_id not in stored]
    assert not missing, f"{len(missing)} acknowledged events lost: {missing[:5]}"
    for key, event_id in created.items():
        external_id, records, note = stored[event_id]
        assert external_id == key
        assert records == 3, (key, records)
        assert note == f'"{key}"'
    incomplete = [event_id for event_id, (_, records, _) in stored.items() if records != 3]
    assert not incomplete, f"events without all their records: {incomplete[:5]}"
    in_doubt = sum(1 for external_id, _, _ in stored.values() if external_id in answered_503)
    return {"acknowledged": len(created), "stored": len(stored), "stored_though_503": in_doubt}


async def wait_for_201(client: httpx.AsyncClient, prefix: str, timeout: float) -> tuple[float, int]:
    """Seconds until a POST succeeds again, and the attempts it took."""
    started = time.monotonic()
    attempts = 0
    while time.monotonic() - started < timeout:
        attempts += 1
        result = await post_event(client, f"{prefix}-{attempts}")
        assert result.status in (201, 503), result
        if result.status == 201:
            return time.monotonic() - started, attempts
        await asyncio.sleep(0.1)
    raise AssertionError(f"no recovery within {timeout}s")


async def test_postgres_stopped_fails_fast_with_503_then_recovers(
    cluster: Cluster, token: str, tmp_path: Path
) -> None:
    with served(cluster.url, tmp_path / "server.log", env=SERVER_ENV) as server:
        async with client_for(server.base_url, token) as client:
            before = await run_load(
                client, concurrency=8, seconds=1.5, max_requests=3000, prefix="before"
            )
            assert set(before.by_status()) == {201}, before.by_status()

            during = asyncio.create_task(
                run_load(client, concurrency=8, seconds=5, max_requests=20000, prefix="outage")
            )
            await asyncio.sleep(1)
            await asyncio.to_thread(cluster.stop, "fast")
            stopped_at = time.monotonic()
            outage = await during
            ready = await client.get("/health/ready")
            assert ready.status_code == 503

            assert 0 not in outage.by_status(), "a request got no HTTP answer"
            assert set(outage.by_status()) <= {201, 503}, outage.by_status()
            after_stop = [r for r in outage.results if r.started > stopped_at + 0.5]
            assert after_stop, "no request was made while PostgreSQL was down"
            assert {r.status for r in after_stop} == {503}
            assert_503s_are_proper(outage.results)
            slowest = max(r.elapsed for r in outage.results)
            assert slowest < MAX_FAILURE_SECONDS, slowest

            await asyncio.to_thread(cluster.start)
            recovery, attempts = await wait_for_201(client, "recovery", timeout=30)
            after = await run_load(
                client, concurrency=8, seconds=1.5, max_requests=3000, prefix="after"
            )
            assert set(after.by_status()) == {201}, after.by_status()
            assert (await client.get("/health/ready")).status_code == 200
        assert server.process.poll() is None, "the server had to be restarted"
    figures = verify_nothing_lost(cluster, [before, outage, after])
    during_outage = [r.elapsed for r in after_stop]
    record(
        "postgres_stopped",
        requests=len(before.results) + len(outage.results) + attempts + len(after.results),
        faults=1,
        answered_503=outage.by_status().get(503, 0) + attempts - 1,
        server_errors_500=0,
        slowest_failure_s=round(max(during_outage), 3),
        median_failure_ms=round(sorted(during_outage)[len(during_outage) // 2] * 1000, 1),
        recovery_s=round(recovery, 2),
        events_lost=0,
        **figures,
    )


async def test_sigkill_postgres_under_concurrent_posts_loses_nothing(
    cluster: Cluster, token: str, tmp_path: Path
) -> None:
    with served(cluster.url, tmp_path / "server.log", env=SERVER_ENV) as server:
        async with client_for(server.base_url, token) as client:
            stop = False
            loaded = Load()
            during = asyncio.create_task(
                run_load(
                    client,
                    concurrency=32,
                    seconds=25,
                    max_requests=50_000,
                    prefix="kill",
                    until=lambda: stop,
                    into=loaded,
                )
            )
            await asyncio.sleep(2)
            killed = await asyncio.to_thread(cluster.kill)
            killed_at = time.monotonic()
            await asyncio.sleep(1.5)
            await asyncio.to_thread(cluster.start)
            restarted_at = time.monotonic()
            # keep the load on until writes have succeeded again for a while
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                recovered = [r for r in list(loaded.results) if r.started > restarted_at]
                if sum(1 for r in recovered if r.status == 201) >= 200:
                    break
            stop = True
            await during
        assert server.process.poll() is None, "the server had to be restarted"
    statuses = loaded.by_status()
    assert 0 not in statuses, "a request got no HTTP answer"
    assert set(statuses) <= {201, 503}, statuses
    assert_503s_are_proper(loaded.results)
    assert any(r.status == 201 and r.started > restarted_at for r in loaded.results)
    assert any(r.status == 201 and r.started + r.elapsed < killed_at for r in loaded.results)
    figures = verify_nothing_lost(cluster, [loaded])
    record(
        "sigkill_postgres",
        requests=len(loaded.results),
        faults=1,
        processes_killed=killed,
        answered_201=statuses.get(201, 0),
        answered_503=statuses.get(503, 0),
        server_errors_500=0,
        events_lost=0,
        **figures,
    )
