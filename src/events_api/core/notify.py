"""Change notifications between processes: PostgreSQL LISTEN/NOTIFY.

Each process keeps one LISTEN connection. Code that caches something derived from the database
subscribes a `clear` callback to a channel; code that changes that data calls `notify` in its
transaction, and every process drops its copy when the transaction commits. While the LISTEN
connection is down, `live` is False and caches must not be used: every lookup then reads the
database, so nothing stale is served for longer than a notification takes to arrive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from events_api.core.db import libpq_params

log = logging.getLogger("events_api.notify")

RECONNECT_SECONDS = 1.0


class ChangeListener:
    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callable[[], None]]] = {}
        self._connections = 0  # LISTEN connections up (one per app in this process)

    @property
    def live(self) -> bool:
        return self._connections > 0

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
            listening = False
            try:
                async with await psycopg.AsyncConnection.connect(autocommit=True, **params) as conn:
                    for channel in self._callbacks:
                        await conn.execute(f"LISTEN {channel}")
                    self._fire()  # whatever changed while nobody listened
                    self._connections += 1
                    listening = True
                    async for notice in conn.notifies():
                        self._fire(notice.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("change listener lost its connection: %s", type(exc).__name__)
            finally:
                if listening:
                    self._connections -= 1
                self._fire()
            await asyncio.sleep(RECONNECT_SECONDS)


async def notify(conn: AsyncConnection, channel: str) -> None:
    """Tell every listening process, once this transaction commits, that `channel` changed."""
    await conn.execute(select(func.pg_notify(channel, "")))


change_listener = ChangeListener()
