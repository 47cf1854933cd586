"""The catalog, cached per process and dropped whenever it changes.

POST /events checks every event against its type's properties. The catalog changes rarely
(`events-api catalog load`), so each process keeps the types it has looked up. `load` sends a
PostgreSQL NOTIFY on commit; every process LISTENs on its own connection and drops its cache
when one arrives. While that connection is down the cache is off and every lookup reads the
database, so a stale catalog is never used for longer than a notification takes to arrive.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from events_api.catalog import repository
from events_api.catalog.repository import PropertyDef

log = logging.getLogger("events_api.catalog")

CHANNEL = "events_api_catalog"
RECONNECT_SECONDS = 1.0


class CatalogCache:
    def __init__(self) -> None:
        self._types: dict[str, dict[str, PropertyDef]] = {}
        self._generation = 0
        self._listeners = 0  # LISTEN connections up (one per app in this process)

    @property
    def enabled(self) -> bool:
        return self._listeners > 0

    def clear(self) -> None:
        self._types = {}
        self._generation += 1

    async def type_properties(
        self, conn: AsyncConnection, event_type_id: str
    ) -> dict[str, PropertyDef] | None:
        """Like repository.type_properties_of, from memory when possible."""
        if self.enabled and event_type_id in self._types:
            return self._types[event_type_id]
        generation = self._generation
        found = await repository.type_properties_of(conn, event_type_id)
        # Unknown types are not kept (clients could fill memory with made-up ids), nor is
        # anything read before a change notification arrived.
        if self.enabled and found is not None and generation == self._generation:
            self._types[event_type_id] = found
        return found

    async def listen(self, engine: AsyncEngine) -> None:
        """Keep a LISTEN connection open; runs until cancelled."""
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            listening = False
            try:
                async with await psycopg.AsyncConnection.connect(
                    url, autocommit=True, connect_timeout=5
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.clear()
                    self._listeners += 1
                    listening = True
                    async for _notice in conn.notifies():
                        self.clear()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("catalog listener lost its connection: %s", type(exc).__name__)
            finally:
                if listening:
                    self._listeners -= 1
                self.clear()
            await asyncio.sleep(RECONNECT_SECONDS)


catalog_cache = CatalogCache()
