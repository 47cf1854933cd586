"""The hot single-event reads, coalesced (core/coalesce.py): what is asked while one query runs
is read together by the next. One of each per process, made by the app's lifespan.

- `EventLookups`: GET /events/{event_id}, on a fresh replica or else the primary
  (core/replicas.py).
- `RecordPages`: GET /events/{event_id}/property-records, pages of the property records of
  several events in one query on the primary.
"""

from __future__ import annotations

from collections.abc import Mapping

from events_api.core.coalesce import Coalescer
from events_api.core.db import Database
from events_api.core.replicas import Reads
from events_api.events import repository
from events_api.events.rows import EventRow, PageKey, RecordsPage

# Ids (pages) per query: a larger burst is read by several queries, one after the other.
MAX_IDS = 100
MAX_PAGES = 50  # a page may hold MAX_PAGE_SIZE records


class EventLookups(Coalescer[str, EventRow]):
    def __init__(self, reads: Reads) -> None:
        super().__init__(self._read, MAX_IDS)
        self._reads = reads

    async def _read(self, event_ids: list[str]) -> Mapping[str, EventRow]:
        # A replica that lacks one of them may not have replayed it yet: the primary then
        # answers them all (read-your-writes).
        return await self._reads.run(
            lambda conn: repository.get_events(conn, event_ids),
            complete=lambda found: len(found) == len(event_ids),
        )


class RecordPages(Coalescer[PageKey, RecordsPage]):
    def __init__(self, db: Database) -> None:
        super().__init__(self._read, MAX_PAGES)
        self._db = db

    async def _read(self, asked: list[PageKey]) -> Mapping[PageKey, RecordsPage]:
        async with self._db.read() as conn:
            pages = await repository.record_pages(conn, asked)
        return dict(zip(asked, pages, strict=True))
