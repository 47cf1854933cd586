"""The catalog, cached per process and dropped whenever it changes.

POST /events checks every event against its type's properties. The catalog changes rarely
(`events-api catalog load`), so each process keeps the types it has looked up, and drops them
when `load` announces a change (core/notify.py). While the change listener is down, every lookup
reads the database.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.catalog import repository
from events_api.catalog.repository import PropertyDef
from events_api.core.notify import change_listener

CHANNEL = "events_api_catalog"


class CatalogCache:
    def __init__(self) -> None:
        self._types: dict[str, dict[str, PropertyDef]] = {}
        self._generation = 0

    def clear(self) -> None:
        self._types = {}
        self._generation += 1

    async def type_properties(
        self, conn: AsyncConnection, event_type_id: str
    ) -> dict[str, PropertyDef] | None:
        """Like repository.type_properties_of, from memory when possible."""
        live = change_listener.live
        if live and event_type_id in self._types:
            return self._types[event_type_id]
        generation = self._generation
        found = await repository.type_properties_of(conn, event_type_id)
        # Unknown types are not kept (clients could fill memory with made-up ids), nor is
        # anything read before a change notification arrived.
        if live and found is not None and generation == self._generation:
            self._types[event_type_id] = found
        return found


catalog_cache = CatalogCache()
change_listener.subscribe(CHANNEL, catalog_cache.clear)
