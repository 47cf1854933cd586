"""SQL of `events-api export`: events page by page in event_id order (keyset), their records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.events.repository import EVENT_COLUMNS, EventFilter, events, records


async def events_after(
    conn: AsyncConnection, where: EventFilter, after: str | None, limit: int
) -> Sequence[Any]:
    """The next `limit` matching events with an event_id above `after`, in event_id order."""
    clauses = where.clauses()
    if after is not None:
        clauses.append(events.c.event_id > after)
    stmt = select(*EVENT_COLUMNS).where(*clauses).order_by(events.c.event_id).limit(limit)
    return (await conn.execute(stmt)).all()


async def records_of(conn: AsyncConnection, event_ids: Sequence[str]) -> Sequence[Any]:
    """The property records of these events, by event then in the order they were sent."""
    stmt = (
        select(records.c.event_id, records.c.property_id, records.c.property_value)
        .where(records.c.event_id.in_(list(event_ids)))
        .order_by(records.c.event_id, records.c.position)
    )
    return (await conn.execute(stmt)).all()
