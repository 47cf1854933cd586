"""The rules of the events resource: validation against the catalog, writes, reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.catalog import repository as catalog
from events_api.catalog.cache import catalog_cache
from events_api.catalog.repository import PropertyDef
from events_api.core.errors import BadRequest, InvalidParam, NotFound
from events_api.core.ids import new_id
from events_api.core.pagination import Page
from events_api.core.sorting import Sort
from events_api.core.timefmt import format_datetime, local_now
from events_api.events import repository
from events_api.events.schemas import Event, EventList, PropertyRecord, PropertyRecordList
from events_api.events.validation import EventIn
from events_api.events.values import check_value
from events_api.events.writer import GroupCommitWriter

# The properties assigned to an event type (None: no such type), e.g. the catalog cache's.
TypeLookup = Callable[[AsyncConnection, str], Awaitable[dict[str, PropertyDef] | None]]
RELATION_NAME = "event_id_event_type_id_customer_id_external_id_secondary_external_id"


async def _check_against_catalog(conn: AsyncConnection, event: EventIn) -> None:
    problems = await catalog_problems(conn, event)
    if problems:
        raise BadRequest(problems)


def _plain(name: str, _position: int | None) -> str:
    return name


def batch_names(prefix: str) -> Callable[[str, int | None], str]:
    """Names of a batch item's problems: paths in the batch body (prefix e.g. "events[3].")."""

    def name(field: str, position: int | None) -> str:
        if field == "event_type_id":
            return f"{prefix}event.{field}"
        if position is None:
            return f"{prefix}property_records.{field}"
        return f"{prefix}property_records[{position}].{field}"

    return name


async def catalog_problems(
    conn: AsyncConnection,
    event: EventIn,
    name: Callable[[str, int | None], str] = _plain,
    lookup: TypeLookup | None = None,
) -> list[InvalidParam]:
    """Every problem of an event against the catalog (type, properties, values)."""
    assigned = await (lookup or catalog_cache.type_properties)(conn, event.event_type_id)
    if assigned is None:
        return [
            InvalidParam(
                name("event_type_id", None),
                "not_found",
                event.event_type_id,
                "event_type_not_found",
            )
        ]
    problems: list[InvalidParam] = []
    unassigned = [r for r in event.records if r.property_id not in assigned]
    existing = (
        await catalog.existing_property_ids(conn, {r.property_id for r in unassigned})
        if unassigned
        else set()
    )
    seen: set[str] = set()
    for record in event.records:
        prop = assigned.get(record.property_id)
        if record.property_id in seen:
            problems.append(
                InvalidParam(
                    name("property_id", record.position),
                    "already_exists",
                    record.property_id,
                    "property_duplicate",
                )
            )
        elif prop is None and record.property_id not in existing:
            problems.append(
                InvalidParam(
                    name("property_id", record.position),
                    "not_found",
                    record.property_id,
                    "property_not_found",
                )
            )
        elif prop is None:
            problems.append(
                InvalidParam(
                    name("property_id", record.position),
                    "not_allowed_value",
                    record.property_id,
                    "property_not_assigned",
                )
            )
        else:
            bad = check_value(prop, record.property_value)
            if bad:
                problems.append(
                    InvalidParam(
                        name("property_value", record.position),
                        bad[0],
                        record.property_value,
                        bad[1],
                        {"data_type": prop.data_type},
                    )
                )
        seen.add(record.property_id)
    given = {r.property_id for r in event.records if r.property_value is not None}
    for prop in assigned.values():
        if prop.is_required and prop.property_id not in given:
            problems.append(
                InvalidParam(
                    name("property_id", None), "required", prop.property_id, "property_required"
                )
            )
    return problems


async def create_event(conn: AsyncConnection, writer: GroupCommitWriter, event: EventIn) -> str:
    """Validate, then write the event and its records in one transaction; return its id.

    The write goes through the group-commit writer: it returns once the transaction holding
    the event has committed.
    """
    await _check_against_catalog(conn, event)
    await conn.close()  # give the connection back before waiting for the commit
    event_id = new_id()
    now = local_now()
    row = {
        "event_id": event_id,
        "event_type_id": event.event_type_id,
        "customer_id": event.customer_id,
        "external_id": event.external_id,
        "secondary_external_id": event.secondary_external_id,
        "data": event.data,
        "created_at": event.created_at or now,
        "state": 1,
    }
    record_rows = [
        {
            "event_id": event_id,
            "property_id": r.property_id,
            "position": r.position,
            "property_value": r.property_value,
            "last_change": now,
        }
        for r in event.records
    ]
    if not await writer.write(row, record_rows):
        raise BadRequest(
            [
                InvalidParam(
                    RELATION_NAME,
                    "relation_already_exists",
                    ", ".join(
                        part
                        for part in (
                            event.event_type_id,
                            event.customer_id,
                            event.external_id,
                            event.secondary_external_id,
                        )
                        if part is not None
                    ),
                )
            ]
        )
    return event_id


def _record(event_id: str, row: Any) -> PropertyRecord:
    return PropertyRecord(
        property_record_id=f"{row.property_id}:{event_id}",
        property_id=row.property_id,
        property_name=row.property_name,
        property_value=row.property_value,
        last_change=format_datetime(row.last_change),
    )


def _event(row: Any, records: list[PropertyRecord] | None = None) -> Event:
    return Event(
        event_id=row.event_id,
        event_type_id=row.event_type_id,
        customer_id=row.customer_id,
        external_id=row.external_id,
        data=row.data,
        created_at=format_datetime(row.created_at),
        secondary_external_id=row.secondary_external_id,
        state=row.state,
        property_records=records,
    )


async def get_event(conn: AsyncConnection, event_id: str) -> Event:
    row = await repository.get_event(conn, event_id)
    if row is None:
        raise NotFound("events", event_id)
    return _event(row)


async def list_events(
    conn: AsyncConnection,
    where: repository.EventFilter,
    sort: Sort,
    page: Page,
    include_property_records: bool,
) -> EventList:
    rows = await repository.list_events(conn, where, sort, page)
    if len(rows) < page.count and (rows or page.offset == 0):
        total = page.offset + len(rows)  # the last page: no need to count
    else:
        total = await repository.count_events(conn, where)
    if not include_property_records:
        return EventList(events=[_event(row) for row in rows], total_items=total)
    by_event: dict[str, list[PropertyRecord]] = defaultdict(list)
    if rows:
        for rec in await repository.records_of(conn, [row.event_id for row in rows]):
            by_event[rec.event_id].append(_record(rec.event_id, rec))
    return EventList(
        events=[_event(row, by_event.get(row.event_id, [])) for row in rows], total_items=total
    )


async def property_records(conn: AsyncConnection, event_id: str) -> PropertyRecordList:
    rows: Sequence[Any] = await repository.records_of(conn, [event_id])
    if not rows and not await repository.event_exists(conn, event_id):
        raise NotFound("events", event_id)
    records = [_record(event_id, row) for row in rows]
    return PropertyRecordList(property_records=records, total_items=len(records))
