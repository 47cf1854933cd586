"""Change notifications between processes (PostgreSQL LISTEN/NOTIFY) and the caches they guard.

Each app keeps one LISTEN connection (its `ChangeListener`, made by the app's lifespan). Code
that caches something derived from the database keeps it in a `NotifiedCache` subscribed to a
channel; code that changes that data calls `notify` in its transaction, and every process drops
its copy when the transaction commits. While the LISTEN connection is down, `live` is False and
caches are bypassed: every lookup then reads the database, so nothing stale is served for longer
than a notification takes to arrive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import psycopg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from events_api.core.db import libpq_params

log = logging.getLogger("events_api.notify")

RECONNECT_SECONDS = 1.0

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ChangeListener:
    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callable[[], None]]] = {}
        self.live = False  # True while the LISTEN connection is up

    def subscribe(self, channel: str, callback: Callable[[], None]) -> None:
        self._callbacks.setdefault(channel, []).append(callback)

    def _fire(self, channel: str | None = None) -> None:
        for name, callbacks in self._callbacks.items():
            if channel is None or name == channel:
                for callback in callbacks:
                    callback()

    async def run(self, engine: AsyncEngine) -> None:
        """Keep a LISTEN connection open on every subscribed channel; runs until cancelled."""
        params = libpq_params(engine)
        params.update(connect_timeout=5, application_name="events-api-listen")
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(autocommit=True, **params) as conn:
                    for channel in self._callbacks:
                        await conn.execute(f"LISTEN {channel}")
                    self._fire()  # whatever changed while nobody listened
                    self.live = True
                    async for notice in conn.notifies():
                        self._fire(notice.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("change listener lost its connection: %s", type(exc).__name__)
            finally:
                self.live = False
                self._fire()
            await asyncio.sleep(RECONNECT_SECONDS)


async def notify(conn: AsyncConnection, channel: str) -> None:
    """Tell every listening process, once this transaction commits, that `channel` changed."""
    await conn.execute(select(func.pg_notify(channel, "")))


class NotifiedCache(Generic[K, V]):
    """Values read from the database, kept until `channel` announces a change.

    A value is only kept while the listener is live and when no change arrived between the read
    and `put` (the caller passes the `generation` it saw before reading). At `max_entries` the
    cache starts over, so clients cannot grow it without bound.
    """

    def __init__(self, listener: ChangeListener, channel: str, max_entries: int) -> None:
        self._listener = listener
        self.channel = channel
        self.max_entries = max_entries
        self._values: dict[K, V] = {}
        self.generation = 0
        listener.subscribe(channel, self.clear)

    def clear(self) -> None:
        self._values = {}
        self.generation += 1

    def get(self, key: K) -> V | None:
        return self._values.get(key) if self._listener.live else None

    def put(self, key: K, value: V, since: int) -> None:
        if not self._listener.live or since != self.generation:
            return  # read before a change arrived, or nobody would tell us about the next one
        if len(self._values) >= self.max_entries:
            self._values = {}
        self._values[key] = value

    async def changed(self, conn: AsyncConnection) -> None:
        """Announce a change made in `conn`'s transaction; this process forgets at once."""
        await notify(conn, self.channel)
        self.clear()
