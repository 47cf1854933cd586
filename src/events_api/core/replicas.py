"""Read replicas: GET /events served by streaming replicas (DATABASE_READ_URLS), when fresh.

- A checker (one task per process) samples the primary's WAL position (`pg_current_wal_lsn()`)
  and each replica's replay position (`pg_last_wal_replay_lsn()`) every `CHECK_SECONDS`. A
  replica's staleness is the age of the newest primary sample it has replayed; a replica that
  is unreachable or staler than REPLICA_MAX_LAG_SECONDS is skipped until it catches up.
- `Reads.run(work)` runs a read on a fresh replica (round robin), and on a primary connection
  (taken only then) when none is fresh, when the replica fails (its error never reaches the
  client), or when the replica does not have what was asked for (`NotFound`, or a result its
  caller finds incomplete: read-your-writes for GET /events/{id}).
- A list served by a replica misses at most the events committed in the last
  REPLICA_MAX_LAG_SECONDS + CHECK_SECONDS; everything else reads the primary.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from events_api.core.db import Database, create_engine
from events_api.core.errors import DB_UNAVAILABLE, NotFound
from events_api.core.settings import Settings

log = logging.getLogger("events_api.replicas")

CHECK_SECONDS = 0.5
T = TypeVar("T")


def parse_lsn(value: str) -> int:
    high, low = value.split("/")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass
class Replica:
    engine: AsyncEngine
    fresh: bool = False
    staleness: float | None = None  # seconds; None: unknown (unreachable)
    served: int = 0


@dataclass
class ReadReplicas:
    primary: AsyncEngine
    replicas: list[Replica]
    max_lag_seconds: float
    _samples: deque[tuple[float, int]] = field(default_factory=deque)
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    def pick(self) -> Replica | None:
        fresh = [replica for replica in self.replicas if replica.fresh]
        return fresh[next(self._turn) % len(fresh)] if fresh else None

    async def check(self) -> None:
        """One round: the primary's position, then each replica's staleness."""
        now = time.monotonic()
        async with self.primary.connect() as conn:
            lsn = (await conn.execute(text("SELECT pg_current_wal_lsn()::text"))).scalar_one()
        self._samples.append((now, parse_lsn(lsn)))
        while self._samples and now - self._samples[0][0] > self.max_lag_seconds + 1:
            self._samples.popleft()
        for replica in self.replicas:
            replica.staleness = await self._staleness(replica, now)
            replica.fresh = replica.staleness is not None and (
                replica.staleness <= self.max_lag_seconds
            )

    async def _staleness(self, replica: Replica, now: float) -> float | None:
        try:
            async with asyncio.timeout(2), replica.engine.connect() as conn:
                replayed = (
                    await conn.execute(text("SELECT pg_last_wal_replay_lsn()::text"))
                ).scalar()
        except Exception:  # unreachable, or not a replica: skipped until the next check
            return None
        if replayed is None:
            return None
        position = parse_lsn(replayed)
        caught_up = [at for at, lsn in self._samples if lsn <= position]
        if not caught_up:
            return float("inf")
        return now - max(caught_up)

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the primary is down: reads fall back to it anyway
                log.warning("replica check failed: %s", type(exc).__name__)
                for replica in self.replicas:
                    replica.fresh = False
            await asyncio.sleep(CHECK_SECONDS)

    async def dispose(self) -> None:
        for replica in self.replicas:
            await replica.engine.dispose()


class Reads:
    """Where a request's reads go (see the module's docstring)."""

    def __init__(self, primary: Database, replicas: ReadReplicas | None) -> None:
        self.primary = primary
        self.replicas = replicas

    async def run(
        self,
        work: Callable[[AsyncConnection], Awaitable[T]],
        complete: Callable[[T], bool] | None = None,
    ) -> T:
        """`work`'s result on a fresh replica; on the primary when there is none, when it fails,
        raises NotFound, or answers what `complete` (when given) says is not everything."""
        replica = self.replicas.pick() if self.replicas is not None else None
        if replica is not None:
            try:
                async with replica.engine.connect() as conn:
                    result = await work(conn)
                if complete is None or complete(result):
                    replica.served += 1
                    return result
            except NotFound:
                pass  # perhaps not replayed yet: the primary has the last word
            except DB_UNAVAILABLE as exc:
                replica.fresh = False
                log.warning("replica failed, reading the primary: %s", type(exc).__name__)
        async with self.primary.read() as conn:
            return await work(conn)


def from_settings(settings: Settings, primary: AsyncEngine) -> ReadReplicas | None:
    """The replicas of DATABASE_READ_URLS (None when unset), all skipped until checked."""
    urls = settings.read_urls()
    if not urls:
        return None
    replicas = [Replica(create_engine(settings, url, autocommit=True)) for url in urls]
    return ReadReplicas(primary, replicas, settings.replica_max_lag_seconds)
