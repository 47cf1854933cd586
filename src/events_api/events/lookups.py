"""GET /events/{event_id}'s reads, coalesced (core/coalesce.py): the ids asked while one query
runs are read together by the next, on a fresh replica or else the primary (core/replicas.py).
One per process, made by the app's lifespan."""

from __future__ import annotations

from collections.abc import Mapping

from events_api.core.coalesce import Coalescer
from events_api.core.replicas import Reads
from events_api.events import repository
from events_api.events.rows import EventRow

# Ids per query: a burst larger than this is read by several queries, one after the other.
MAX_IDS = 100


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
