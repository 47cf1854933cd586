"""Automatic failover with pg_auto_failover, under a POST load on a real `events-api serve`.

A monitor and two data nodes with synchronous replication (tests/autofailover.py) on loopback;
the server connects with the multi-host URL `pg_autoctl show uri` would print
(`postgresql://h:p1,h:p2/db?target_session_attrs=read-write`) and is never restarted. A planned
switchover and an unplanned failover (the primary's keeper and postmaster SIGKILLed) happen
mid-load; afterwards every event answered 201 must be on the new primary with its records.
Figures go to RELIABILITY_FIGURES (tests/figures.py) when set.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from events_api.core.settings import normalize_database_url
from tests.fixtures.autofailover import Formation, Node, missing_packages
from tests.fixtures.figures import record
from tests.fixtures.helpers import basic, ready_database
from tests.fixtures.loadgen import Load, post_event, run_load
from tests.fixtures.pgcluster import OWN_CLUSTERS
from tests.fixtures.servers import served

pytestmark = OWN_CLUSTERS

RETRY_AFTER = 2
SERVER_ENV = {
    "DB_CONNECT_TIMEOUT": "2",
    "DB_POOL_TIMEOUT": "2",
    "DB_STATEMENT_TIMEOUT_MS": "5000",
    "RETRY_AFTER_SECONDS": str(RETRY_AFTER),
}


# --- the multi-host URL, without pg_auto_failover ----------------------------------------------


def test_multi_host_urls_become_sqlalchemy_host_parameters() -> None:
    url = "postgresql://u:p@10.0.0.1:5432,10.0.0.2:5433/events?target_session_attrs=read-write"
    assert normalize_database_url(url) == (
        "postgresql+psycopg://u:p@/events"
        "?host=10.0.0.1:5432&host=10.0.0.2:5433&target_session_attrs=read-write"
    )
    assert normalize_database_url("postgres://a,b/db") == "postgresql+psycopg:///db?host=a&host=b"
    single = "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable"
    assert normalize_database_url(single) == "postgresql+psycopg" + single[len("postgresql") :]
    with pytest.raises(ValueError, match="empty host"):
        normalize_database_url("postgresql://a,,b/db")


# --- the formation -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def formation() -> Iterator[Formation]:
    reason = missing_packages()
    if reason:
        pytest.skip(reason)
    group = Formation()
    try:
        group.start()
        yield group
    finally:
        group.destroy()


@pytest.fixture(scope="module")
async def token(formation: Formation) -> str:
    return await ready_database(normalize_database_url(formation.multi_host_url), "failover")


def client_for(base_url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={**basic("failover", token), "Accept-Language": "en"},
        timeout=httpx.Timeout(30),
        limits=httpx.Limits(max_connections=32),
    )


def synchronous_settings(primary: Node) -> dict[str, Any]:
    """What makes a 201 survive the primary: read on the primary itself, not assumed."""
    with primary.connect() as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings "
                "WHERE name IN ('synchronous_commit', 'synchronous_standby_names')"
            ).fetchall()
        )
        states = [row[0] for row in conn.execute("SELECT sync_state FROM pg_stat_replication")]
    return {**settings, "standby_sync_states": states}


def verify_on(primary: Node, load: Load) -> dict[str, int]:
    """Every 201 is on `primary` with its 3 records; how many 503s were committed anyway."""
    created = load.created()
    answered_503 = {r.key for r in load.results if r.status == 503}
    keys = list(created) + list(answered_503)
    with primary.connect() as conn:
        rows = conn.execute(
            "SELECT e.event_id, e.external_id, count(r.property_id) "
            "FROM events e LEFT JOIN event_property_records r USING (event_id) "
            "WHERE e.external_id = ANY(%s) GROUP BY e.event_id, e.external_id",
            (keys,),
        ).fetchall()
    stored = {row[0]: (row[1], row[2]) for row in rows}
    missing = [key for key, event_id in created.items() if event_id not in stored]
    assert not missing, f"{len(missing)} events answered 201 are missing: {missing[:5]}"
    incomplete = [event_id for event_id, (_, records) in stored.items() if records != 3]
    assert not incomplete, f"events without all their records: {incomplete[:5]}"
    in_doubt = sum(1 for external_id, _ in stored.values() if external_id in answered_503)
    return {"answered_201": len(created), "committed_though_503": in_doubt}


async def switch_under_load(
    formation: Formation,
    token: str,
    tmp_path: Path,
    prefix: str,
    switch: Callable[[Node], Awaitable[None]],
) -> dict[str, Any]:
    """POST load; `switch(old_primary)` mid-run; load goes on until 201s come back."""
    old = formation.primary()
    assert old is not None, formation.states()
    assert formation.is_stable(), formation.states()
    sync = synchronous_settings(old)
    assert sync["synchronous_commit"] in ("on", "remote_apply"), sync
    assert sync["synchronous_standby_names"], sync
    assert sync["standby_sync_states"], sync
    assert set(sync["standby_sync_states"]) <= {"sync", "quorum"}, sync
    with served(formation.multi_host_url, tmp_path / "server.log", env=SERVER_ENV) as server:
        async with client_for(server.base_url, token) as client:
            stop = False
            loaded = Load()
            during = asyncio.create_task(
                run_load(
                    client,
                    concurrency=8,
                    seconds=60,
                    max_requests=30_000,
                    prefix=prefix,
                    until=lambda: stop,
                    into=loaded,
                )
            )
            try:
                await asyncio.sleep(1.5)
                switched_at = time.monotonic()
                await switch(old)
                # keep the load on until writes succeed again on the new primary for a while
                deadline = time.monotonic() + 45
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    results = list(loaded.results)
                    failed_at = [r.started for r in results if r.status != 201]
                    if failed_at:
                        back = [
                            r for r in results if r.status == 201 and r.started > max(failed_at)
                        ]
                        if len(back) >= 100:
                            break
            finally:
                stop = True
                await during
            ready = await client.get("/health/ready")
        assert server.process.poll() is None, "the server had to be restarted"
    new = formation.primary()
    assert new is not None, formation.states()
    assert new is not old, formation.states()
    assert ready.status_code == 200, ready.text
    assert ready.json()["database_role"] == "primary"

    statuses = loaded.by_status()
    assert 0 not in statuses, "a request got no HTTP answer"
    assert set(statuses) <= {201, 503}, statuses
    for result in loaded.results:
        if result.status == 503:
            assert result.exception == "service_unavailable_exception", result
            assert result.retry_after == str(RETRY_AFTER), result
    failures = [r for r in loaded.results if r.status != 201]
    assert failures, "the switch went unnoticed: nothing was tested"
    early = [r for r in failures if r.started + r.elapsed < switched_at]
    assert not early, f"failures before the switch: {early[:3]}"
    assert any(r.status == 201 and r.started + r.elapsed < switched_at for r in loaded.results)
    # the outage: from the first 503 to the first 201 of a request sent after the last 503
    first_failure = min(r.started + r.elapsed for r in failures)
    last_failure = max(r.started for r in failures)
    first_back = min(
        r.started + r.elapsed
        for r in loaded.results
        if r.status == 201 and r.started > last_failure
    )
    figures = verify_on(new, loaded)
    return {
        "requests": len(loaded.results),
        "answered_503": statuses.get(503, 0),
        "first_201_on_new_primary_s": round(first_back - switched_at, 2),
        "unavailable_s": round(first_back - first_failure, 2),
        "events_missing": 0,
        "old_primary": old.name,
        "new_primary": new.name,
        "synchronous_standby_names": sync["synchronous_standby_names"],
        **figures,
    }


async def test_ready_names_the_role_of_the_server_reached(
    formation: Formation, token: str, tmp_path: Path
) -> None:
    """The multi-host URL reaches the primary even when the standby is listed first (and a
    dead host before both); the standby's own URL shows `replica`."""
    primary = formation.primary()
    standby = next(node for node in formation.nodes if node is not primary)
    assert primary is not None
    hosts = f"127.0.0.1:1,127.0.0.1:{standby.port},127.0.0.1:{primary.port}"
    url = f"postgresql://postgres@{hosts}/postgres?target_session_attrs=read-write"
    for database_url, role in ((url, "primary"), (standby.url, "replica")):
        with served(database_url, tmp_path / f"{role}.log", env=SERVER_ENV) as server:
            ready = httpx.get(f"{server.base_url}/health/ready", timeout=10)
            async with client_for(server.base_url, token) as client:
                created = await post_event(client, f"role-{role}")
        assert ready.status_code == 200, ready.text
        assert ready.json()["database_role"] == role
        if role == "primary":
            assert created.status == 201, created
        else:  # a write on a standby (a pool still on a demoted primary): 503, never a 500
            assert created.status == 503, created
            assert created.exception == "service_unavailable_exception"


async def test_planned_switchover_under_post_load_loses_nothing(
    formation: Formation, token: str, tmp_path: Path
) -> None:
    async def switchover(_old: Node) -> None:
        await asyncio.to_thread(formation.switchover)

    figures = await switch_under_load(formation, token, tmp_path, "switchover", switchover)
    await asyncio.to_thread(formation.wait, formation.is_stable, 60, "a new secondary")
    record("failover_planned_switchover", **figures)


async def test_primary_killed_under_post_load_fails_over_and_loses_nothing(
    formation: Formation, token: str, tmp_path: Path
) -> None:
    killed: list[int] = []

    async def kill(old: Node) -> None:
        killed.append(await asyncio.to_thread(formation.kill_node, old))

    figures = await switch_under_load(formation, token, tmp_path, "killed", kill)
    record("failover_primary_sigkilled", processes_killed=killed[0], **figures)
