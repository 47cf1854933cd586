"""Read replicas: a real streaming replica (`pg_basebackup -R`) behind DATABASE_READ_URLS.

A throwaway primary (tests/pgcluster.py) and its replica (tests/replica.py), both on loopback;
a real `events-api serve` on the primary with the replica as its read URL. Shown: lists served
by the replica (its own table statistics count the scans), read-your-writes for GET
/events/{id} right after a 201 under concurrent writes, and the replica stopped mid-load with
no error reaching a client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from events_api.core.settings import API_PREFIX
from tests.fixtures.figures import record
from tests.fixtures.helpers import basic, ready_database
from tests.fixtures.loadgen import post_event
from tests.fixtures.pgcluster import OWN_CLUSTERS, Cluster, running_cluster
from tests.fixtures.replica import make_replica
from tests.fixtures.servers import served

pytestmark = OWN_CLUSTERS

EVENTS = API_PREFIX + "/events"


@pytest.fixture(scope="module")
def primary() -> Iterator[Cluster]:
    with running_cluster() as db:
        yield db


@pytest.fixture(scope="module")
async def token(primary: Cluster) -> str:
    return await ready_database(primary.url, "replicas")


@pytest.fixture(scope="module")
def replica(primary: Cluster, token: str) -> Iterator[Cluster]:
    standby = make_replica(primary)
    try:
        yield standby
    finally:
        standby.destroy()


def env_for(replica: Cluster) -> dict[str, str]:
    return {"DATABASE_READ_URLS": replica.libpq_url, "REPLICA_MAX_LAG_SECONDS": "2"}


def client_for(base_url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={**basic("replicas", token), "Accept-Language": "en"},
        timeout=httpx.Timeout(30),
        limits=httpx.Limits(max_connections=32),
    )


def scans_on(cluster: Cluster) -> int:
    """Scans of the events table that this server ran (its own statistics)."""
    with cluster.connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0) "
            "FROM pg_stat_user_tables WHERE relname = 'events'"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def wait_for_total(client: httpx.AsyncClient, expected: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await client.get(EVENTS, params={"count": 1})
        assert response.status_code == 200, response.text
        if response.json()["data"]["total_items"] == expected:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"total_items never reached {expected}")


async def test_lists_are_served_by_the_replica(
    primary: Cluster, replica: Cluster, token: str, tmp_path: Path
) -> None:
    with served(primary.url, tmp_path / "server.log", env=env_for(replica)) as server:
        async with client_for(server.base_url, token) as client:
            before = (await client.get(EVENTS, params={"count": 1})).json()["data"]
            created = [await post_event(client, f"listed-{n}") for n in range(20)]
            assert {r.status for r in created} == {201}
            await wait_for_total(client, before["total_items"] + 20)
            await asyncio.sleep(1.5)  # a check or two: the replica is fresh again
            on_replica, on_primary = scans_on(replica), scans_on(primary)
            for _ in range(50):
                response = await client.get(EVENTS, params={"customer_id": "load"})
                assert response.status_code == 200
            # backends report their statistics when idle, within about 10 s
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and scans_on(replica) - on_replica < 50:
                await asyncio.sleep(0.5)
            served_by_replica = scans_on(replica) - on_replica
            served_by_primary = scans_on(primary) - on_primary
    assert served_by_replica >= 50, (served_by_replica, served_by_primary)
    assert served_by_primary < 10, (served_by_replica, served_by_primary)
    record(
        "replica_reads",
        lists=50,
        scans_on_replica=served_by_replica,
        scans_on_primary=served_by_primary,
    )


async def test_read_your_writes_under_concurrent_writes(
    primary: Cluster, replica: Cluster, token: str, tmp_path: Path
) -> None:
    """Each client GETs its event right after the 201: 200 every time, never 404. The
    replica applies commits 300 ms late (recovery_min_apply_delay), fresh enough to be used,
    so an event just created is not on it yet."""
    outcomes: list[int] = []
    delay_apply(replica, "300ms")
    try:
        await read_your_writes(primary, replica, token, tmp_path, outcomes)
    finally:
        delay_apply(replica, "0")
    assert outcomes == [200] * 200, {s: outcomes.count(s) for s in set(outcomes)}
    record("replica_read_your_writes", posts_then_gets=200, gets_not_200=0)


def delay_apply(replica: Cluster, delay: str) -> None:
    with replica.connect(autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = '{delay}'")
        conn.execute("SELECT pg_reload_conf()")


async def read_your_writes(
    primary: Cluster, replica: Cluster, token: str, tmp_path: Path, outcomes: list[int]
) -> None:
    with served(primary.url, tmp_path / "server.log", env=env_for(replica)) as server:
        async with client_for(server.base_url, token) as client:
            await asyncio.sleep(1.5)  # the replica has been checked and found fresh

            async def writer(number: int) -> None:
                for n in range(25):
                    created = await post_event(client, f"ryw-{number}-{n}")
                    assert created.status == 201, created
                    response = await client.get(f"{EVENTS}/{created.event_id}")
                    outcomes.append(response.status_code)

            await asyncio.gather(*(writer(number) for number in range(8)))


async def test_replica_stopped_mid_load_no_error_reaches_clients(
    primary: Cluster, replica: Cluster, token: str, tmp_path: Path
) -> None:
    statuses: list[int] = []
    stop = False
    with served(primary.url, tmp_path / "server.log", env=env_for(replica)) as server:
        async with client_for(server.base_url, token) as client:
            await asyncio.sleep(1.5)

            async def reader() -> None:
                while not stop:
                    try:
                        response = await client.get(EVENTS, params={"count": 10})
                        statuses.append(response.status_code)
                    except httpx.HTTPError:
                        statuses.append(0)

            readers = [asyncio.create_task(reader()) for _ in range(8)]
            try:
                await asyncio.sleep(1.5)
                before_stop = len(statuses)
                await asyncio.to_thread(replica.stop, "immediate")
                await asyncio.sleep(3)
            finally:
                stop = True
                await asyncio.gather(*readers)
    assert before_stop > 0
    assert len(statuses) > before_stop, "no request while the replica was down"
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    record("replica_stopped_mid_load", lists=len(statuses), answered_not_200=0)
