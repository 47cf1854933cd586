"""SQL of `events-api export`: events page by page in event_id order (keyset), their records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.events.filters import EventFilter
from events_api.events.repository import EVENT_COLUMNS
from events_api.events.rows import EventRow
from events_api.models import event_property_records as records
from events_api.models import events


async def events_after(
    conn: AsyncConnection, where: EventFilter, after: str | None, limit: int
) -> list[EventRow]:
    """The next `limit` matching events with an event_id above `after`, in event_id order."""
    clauses = where.clauses()
    if after is not None:
        clauses.append(events.c.event_id > after)
    stmt = select(*EVENT_COLUMNS).where(*clauses).order_by(events.c.event_id).limit(limit)
    return [EventRow(*row) for row in await conn.execute(stmt)]


class ExportedRecord(NamedTuple):
    event_id: str
    property_id: str
    property_value: Any


async def records_of(conn: AsyncConnection, event_ids: Sequence[str]) -> list[ExportedRecord]:
    """The property records of these events, by event then in the order they were sent."""
    stmt = (
        select(records.c.event_id, records.c.property_id, records.c.property_value)
        .where(records.c.event_id.in_(list(event_ids)))
        .order_by(records.c.event_id, records.c.position)
    )
    return [ExportedRecord(*row) for row in await conn.execute(stmt)]
