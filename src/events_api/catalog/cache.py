"""The catalog as the rest of the app reads it: cached per process, dropped whenever it changes.

POST /events checks every event against its type's properties. The catalog changes rarely
(`events-api catalog load`), so each app keeps the types it has looked up, and drops them when
`load` announces a change (core/notify.py). While the change listener is down, every lookup
reads the database. A connection is borrowed only on a miss.
"""

from __future__ import annotations

from collections.abc import Collection

from events_api.catalog import repository
from events_api.catalog.definitions import TypeProperties
from events_api.catalog.snapshot import Catalog, read_snapshot
from events_api.core.db import Database
from events_api.core.notify import ChangeListener, NotifiedCache

CHANNEL = "events_api_catalog"
MAX_TYPES = 10_000


class CatalogCache(NotifiedCache[str, TypeProperties]):
    def __init__(self, listener: ChangeListener) -> None:
        super().__init__(listener, CHANNEL, MAX_TYPES)
        self._snapshot: Catalog | None = None

    def clear(self) -> None:
        super().clear()
        self._snapshot = None

    async def snapshot(self, db: Database) -> Catalog:
        """The whole catalog (for the catalog reads and the names, data types and items of
        property records), from memory when possible."""
        live = self._listener.live
        if live and self._snapshot is not None:
            return self._snapshot
        since = self.generation
        async with db.read() as conn:
            found = await read_snapshot(conn)
        if self._listener.live and since == self.generation:
            self._snapshot = found
        return found

    async def type_properties(self, db: Database, event_type_id: str) -> TypeProperties | None:
        """The properties of an active event type; None when there is no such type."""
        cached = self.get(event_type_id)
        if cached is not None:
            return cached
        since = self.generation
        async with db.read() as conn:
            found = await repository.type_properties_of(conn, event_type_id)
        # Unknown types are not kept (clients could fill memory with made-up ids).
        if found is not None:
            self.put(event_type_id, found, since)
        return found

    async def existing_property_ids(self, db: Database, property_ids: Collection[str]) -> set[str]:
        """Which of these properties exist at all (rare: only for a request naming properties
        that its event type lacks), read from the database."""
        if not property_ids:
            return set()
        async with db.read() as conn:
            return await repository.existing_property_ids(conn, property_ids)
