"""SQL for events and their property records. Statements only; callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.core.errors import InvalidParam
from events_api.core.pagination import Page
from events_api.core.sorting import Sort
from events_api.models import Event, EventProperty, EventPropertyRecord, EventType, EventTypeCount

events: Table = Event.__table__  # type: ignore[assignment]
records: Table = EventPropertyRecord.__table__  # type: ignore[assignment]
properties: Table = EventProperty.__table__  # type: ignore[assignment]
counts: Table = EventTypeCount.__table__  # type: ignore[assignment]
event_types: Table = EventType.__table__  # type: ignore[assignment]

# From this offset on, pages are found through a narrow walk over ids (a deferred join).
DEFERRED_JOIN_OFFSET = 1000

EVENT_COLUMNS = (
    events.c.event_id,
    events.c.event_type_id,
    events.c.customer_id,
    events.c.external_id,
    events.c.data,
    events.c.created_at,
    events.c.secondary_external_id,
    events.c.state,
)

# Every first-level field of Event that has an order; `json` has none, so `data` sorts as jsonb.
SORTABLE: dict[str, ColumnElement[Any]] = {
    "event_id": events.c.event_id,
    "event_type_id": events.c.event_type_id,
    "customer_id": events.c.customer_id,
    "external_id": events.c.external_id,
    "data": cast(events.c.data, JSONB),
    "created_at": events.c.created_at,
    "secondary_external_id": events.c.secondary_external_id,
    "state": events.c.state,
}
DEFAULT_SORT = "created_at"


@dataclass(frozen=True)
class EventFilter:
    event_type_id: str | None = None
    event_type_ids: Sequence[str] = ()  # OR between values; AND with event_type_id
    customer_id: str | None = None
    external_id: str | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None
    problems: tuple[InvalidParam, ...] = field(default=(), compare=False)

    def by_type_only(self) -> bool:
        """True when only event types (or nothing) are filtered on."""
        return (
            self.customer_id is None
            and self.external_id is None
            and self.time_from is None
            and self.time_to is None
        )

    def type_ids(self) -> list[str] | None:
        """The event types matched (AND of both type filters); None for all types."""
        if self.event_type_id is None and not self.event_type_ids:
            return None
        if self.event_type_id is None:
            return list(self.event_type_ids)
        if self.event_type_ids and self.event_type_id not in self.event_type_ids:
            return []
        return [self.event_type_id]

    def clauses(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.event_type_id is not None:
            where.append(events.c.event_type_id == self.event_type_id)
        if self.event_type_ids:
            where.append(events.c.event_type_id.in_(list(self.event_type_ids)))
        if self.customer_id is not None:
            where.append(events.c.customer_id == self.customer_id)
        if self.external_id is not None:
            where.append(events.c.external_id == self.external_id)
        if self.time_from is not None:
            where.append(events.c.created_at >= self.time_from)
        if self.time_to is not None:
            where.append(events.c.created_at <= self.time_to)
        return where


async def insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert events, skipping those whose relation (or id) already exists; ids inserted."""
    stmt = pg_insert(events).on_conflict_do_nothing().returning(events.c.event_id)
    result = await conn.execute(stmt, rows)
    return {row[0] for row in result.all()}


async def insert_records(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(insert(records), rows)


# Statements of the hot single-event paths are built once; only their parameters change.
_GET_EVENT = select(*EVENT_COLUMNS).where(events.c.event_id == bindparam("event_id"))
_EVENT_EXISTS = select(events.c.event_id).where(events.c.event_id == bindparam("event_id"))
_RECORD_COLUMNS = (
    records.c.event_id,
    records.c.property_id,
    properties.c.name.label("property_name"),
    records.c.property_value,
    records.c.last_change,
)
_RECORDS_OF_ONE = (
    select(*_RECORD_COLUMNS)
    .join(properties, properties.c.property_id == records.c.property_id)
    .where(records.c.event_id == bindparam("event_id"))
    .order_by(records.c.position)
)


async def get_event(conn: AsyncConnection, event_id: str) -> Any:
    return (await conn.execute(_GET_EVENT, {"event_id": event_id})).first()


async def event_exists(conn: AsyncConnection, event_id: str) -> bool:
    return (await conn.execute(_EVENT_EXISTS, {"event_id": event_id})).first() is not None


async def list_events(
    conn: AsyncConnection, where: EventFilter, sort: Sort, page: Page
) -> Sequence[Any]:
    order = sort.order_by(events.c.event_id)
    if page.offset < DEFERRED_JOIN_OFFSET:
        stmt = (
            select(*EVENT_COLUMNS)
            .where(*where.clauses())
            .order_by(*order)
            .limit(page.count)
            .offset(page.offset)
        )
        return (await conn.execute(stmt)).all()
    # Deferred join: skip `offset` rows in a narrow (index-only when an index covers the filter
    # and the order) walk over event ids, then read only the page's full rows.
    ids = (
        select(events.c.event_id)
        .where(*where.clauses())
        .order_by(*order)
        .limit(page.count)
        .offset(page.offset)
        .subquery("page")
    )
    stmt = (
        select(*EVENT_COLUMNS)
        .join_from(events, ids, ids.c.event_id == events.c.event_id)
        .order_by(*order)
    )
    return (await conn.execute(stmt)).all()


async def count_events(conn: AsyncConnection, where: EventFilter) -> int:
    """Exact number of matching events; from the per-type counters when the filter allows."""
    if where.by_type_only():
        stmt = select(func.coalesce(func.sum(counts.c.n), 0))
        type_ids = where.type_ids()
        if type_ids is not None:
            stmt = stmt.where(counts.c.event_type_id.in_(type_ids))
    else:
        stmt = select(func.count()).select_from(events).where(*where.clauses())
    return int((await conn.execute(stmt)).scalar_one())


async def records_of(conn: AsyncConnection, event_ids: Sequence[str]) -> Sequence[Any]:
    """Property records of several events in one query, in the order they were sent."""
    if len(event_ids) == 1:
        return (await conn.execute(_RECORDS_OF_ONE, {"event_id": event_ids[0]})).all()
    stmt: Any = (
        select(*_RECORD_COLUMNS)
        .join(properties, properties.c.property_id == records.c.property_id)
        .where(records.c.event_id.in_(list(event_ids)))
        .order_by(records.c.event_id, records.c.position)
    )
    return (await conn.execute(stmt)).all()


# --- retention (events-api purge) -------------------------------------------------------------


async def event_type_exists(conn: AsyncConnection, event_type_id: str) -> bool:
    """Whether the catalog has this event type (active or not)."""
    stmt = select(event_types.c.event_type_id).where(event_types.c.event_type_id == event_type_id)
    return (await conn.execute(stmt)).first() is not None


async def oldest_event_ids(
    conn: AsyncConnection, before: datetime, event_type_id: str | None, limit: int
) -> list[str]:
    """Up to `limit` ids of events created before `before`, oldest first, locked for deletion."""
    stmt = select(events.c.event_id).where(events.c.created_at < before)
    if event_type_id is not None:
        stmt = stmt.where(events.c.event_type_id == event_type_id)
    stmt = stmt.order_by(events.c.created_at, events.c.event_id).limit(limit).with_for_update()
    return list((await conn.execute(stmt)).scalars())


async def delete_events(conn: AsyncConnection, event_ids: list[str]) -> tuple[int, int]:
    """Delete these events and their property records; (events, records) deleted. The
    statement triggers of `events` keep the per-type counters (total_items) exact."""
    gone_records = await conn.execute(delete(records).where(records.c.event_id.in_(event_ids)))
    gone_events = await conn.execute(delete(events).where(events.c.event_id.in_(event_ids)))
    return gone_events.rowcount, gone_records.rowcount
