"""Retention: delete events created before a date, in bounded batches.

Each batch is its own short transaction (select up to `batch_size` of the oldest matching ids,
delete their property records, then the events), so no lock is held for long and concurrent
POSTs and GETs go on. `total_items` stays exact: the statement triggers on `events` (migration
0002) subtract each batch from the per-type counters in the batch's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.events import repository


class UnknownEventType(Exception):
    pass


@dataclass
class Purged:
    events: int = 0
    records: int = 0
    batches: int = 0


async def purge(
    engine: AsyncEngine,
    before: datetime,
    *,
    event_type_id: str | None = None,
    batch_size: int = 1000,
    progress: Callable[[Purged], None] | None = None,
) -> Purged:
    """Delete every event created before `before` (of one type when given); the totals."""
    if event_type_id is not None:
        async with engine.connect() as conn:
            if not await repository.event_type_exists(conn, event_type_id):
                raise UnknownEventType(event_type_id)
    done = Purged()
    while True:
        async with engine.begin() as conn:
            ids = await repository.oldest_event_ids(conn, before, event_type_id, batch_size)
            if not ids:
                break
            events, records = await repository.delete_events(conn, ids)
        done.events += events
        done.records += records
        done.batches += 1
        if progress is not None:
            progress(done)
        if len(ids) < batch_size:
            break
    return done
