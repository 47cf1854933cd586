"""SQL for events and their property records. Statements only; callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, Text, any_, bindparam, delete, func, insert, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.core.db import Prepared
from events_api.core.pagination import Page
from events_api.core.sorting import Sort
from events_api.events.filters import EventFilter
from events_api.events.rows import EventRow, NewRecord, PageKey, RecordRow, RecordsPage
from events_api.models import event_properties as properties
from events_api.models import event_property_records as records
from events_api.models import event_type_counts as counts
from events_api.models import event_types, events

# From this offset on, pages are found through a narrow walk over ids (a deferred join).
DEFERRED_JOIN_OFFSET = 1000

EVENT_COLUMNS = tuple(events.c[name] for name in EventRow._fields)


async def insert_events(conn: AsyncConnection, rows: Sequence[EventRow]) -> set[str]:
    """Insert events, skipping those whose relation (or id) already exists; ids inserted."""
    stmt = pg_insert(events).on_conflict_do_nothing().returning(events.c.event_id)
    result = await conn.execute(stmt, [row._asdict() for row in rows])
    return {event_id for (event_id,) in result.all()}


async def insert_records(conn: AsyncConnection, rows: Sequence[NewRecord]) -> None:
    await conn.execute(insert(records), [row._asdict() for row in rows])


# Statements of the hot single-event paths are compiled once and prepared by PostgreSQL.
_GET_EVENTS = Prepared(
    select(*EVENT_COLUMNS).where(
        events.c.event_id == any_(bindparam("event_ids", type_=ARRAY(Text)))
    )
)
_RECORD_COLUMNS = tuple(
    properties.c.name.label(name) if name == "property_name" else records.c[name]
    for name in RecordRow._fields
)
_RECORDS_OF_ONE = Prepared(
    select(*_RECORD_COLUMNS)
    .join(properties, properties.c.property_id == records.c.property_id)
    .where(records.c.event_id == bindparam("event_id"))
    .order_by(records.c.position)
)


async def get_events(conn: AsyncConnection, event_ids: Sequence[str]) -> dict[str, EventRow]:
    """The events of these ids that exist, by id."""
    rows = await _GET_EVENTS.rows(conn, {"event_ids": list(event_ids)})
    return {row[0]: EventRow(*row) for row in rows}


async def list_events(
    conn: AsyncConnection, where: EventFilter, sort: Sort, page: Page
) -> list[EventRow]:
    order = sort.order_by(events.c.event_id)
    if page.offset < DEFERRED_JOIN_OFFSET:
        stmt = (
            select(*EVENT_COLUMNS)
            .where(*where.clauses())
            .order_by(*order)
            .limit(page.size)
            .offset(page.offset)
        )
        return [EventRow(*row) for row in await conn.execute(stmt)]
    # Deferred join: skip `offset` rows in a narrow (index-only when an index covers the filter
    # and the order) walk over event ids, then read only the page's full rows.
    ids = (
        select(events.c.event_id)
        .where(*where.clauses())
        .order_by(*order)
        .limit(page.size)
        .offset(page.offset)
        .subquery("page")
    )
    stmt = (
        select(*EVENT_COLUMNS)
        .join_from(events, ids, ids.c.event_id == events.c.event_id)
        .order_by(*order)
    )
    return [EventRow(*row) for row in await conn.execute(stmt)]


async def count_events(conn: AsyncConnection, where: EventFilter) -> int:
    """Exact number of matching events; from the per-type counters when the filter allows."""
    if where.by_type_only():
        stmt = select(func.coalesce(func.sum(counts.c.event_count), 0))
        type_ids = where.type_ids()
        if type_ids is not None:
            stmt = stmt.where(counts.c.event_type_id.in_(type_ids))
    else:
        stmt = select(func.count()).select_from(events).where(*where.clauses())
    return int((await conn.execute(stmt)).scalar_one())


async def records_of(conn: AsyncConnection, event_ids: Sequence[str]) -> list[RecordRow]:
    """Property records of several events in one query, in the order they were sent."""
    if len(event_ids) == 1:
        rows = await _RECORDS_OF_ONE.rows(conn, {"event_id": event_ids[0]})
        return [RecordRow(*row) for row in rows]
    stmt = (
        select(*_RECORD_COLUMNS)
        .join(properties, properties.c.property_id == records.c.property_id)
        .where(records.c.event_id.in_(list(event_ids)))
        .order_by(records.c.event_id, records.c.position)
    )
    return [RecordRow(*row) for row in await conn.execute(stmt)]


# Pages of the property records of several events at once (GET /events/{id}/property-records,
# coalesced): one row per record of each asked page, or one row of NULL records for a page
# without any; each with whether its event exists and how many records it has in all.
_ASKED = (
    func.unnest(
        bindparam("event_ids", type_=ARRAY(Text)),
        bindparam("sizes", type_=ARRAY(Integer)),
        bindparam("offsets", type_=ARRAY(Integer)),
    )
    .table_valued("event_id", "size", "skip", with_ordinality="n")
    .render_derived()
)
_ASKED_PAGE = (
    select(*_RECORD_COLUMNS, records.c.position)
    .join(properties, properties.c.property_id == records.c.property_id)
    .where(records.c.event_id == _ASKED.c.event_id)
    .order_by(records.c.position)
    .limit(_ASKED.c.size)
    .offset(_ASKED.c.skip)
    .lateral("page")
)
_RECORD_PAGES = Prepared(
    select(
        _ASKED.c.n,
        select(events.c.event_id).where(events.c.event_id == _ASKED.c.event_id).exists(),
        select(func.count())
        .select_from(records)
        .where(records.c.event_id == _ASKED.c.event_id)
        .scalar_subquery(),
        *_ASKED_PAGE.c,
    )
    .select_from(_ASKED.outerjoin(_ASKED_PAGE, true()))
    .order_by(_ASKED.c.n, _ASKED_PAGE.c.position)
)


async def record_pages(conn: AsyncConnection, asked: Sequence[PageKey]) -> list[RecordsPage]:
    """For each (event id, page size, offset): that page of the event's property records (in
    the order they were sent), whether the event exists and its number of records."""
    params = {
        "event_ids": [event_id for event_id, _, _ in asked],
        "sizes": [size for _, size, _ in asked],
        "offsets": [offset for _, _, offset in asked],
    }
    pages: dict[int, RecordsPage] = {}
    for n, exists, total, *record, _position in await _RECORD_PAGES.rows(conn, params):
        page = pages.get(n)
        if page is None:
            page = pages[n] = RecordsPage(exists, total, [])
        if record[0] is not None:  # else a page without records (the outer join's NULLs)
            page.rows.append(RecordRow(*record))
    return [pages[n] for n in range(1, len(asked) + 1)]


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
