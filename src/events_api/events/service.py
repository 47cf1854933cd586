"""The rules of the events resource: validation against the catalog, writes, reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.catalog.cache import CatalogCache
from events_api.catalog.definitions import TypeProperties
from events_api.catalog.snapshot import CatalogSnapshot
from events_api.core.db import Database
from events_api.core.errors import BadRequest, InvalidParam, NotFound
from events_api.core.i18n import Lang
from events_api.core.ids import new_id
from events_api.core.pagination import Page
from events_api.core.sorting import Sort
from events_api.core.timefmt import format_datetime
from events_api.customers import service as customers
from events_api.customers.cache import CustomerDirectory
from events_api.events import repository
from events_api.events.filters import EventFilter
from events_api.events.lookups import EventLookups, RecordPages
from events_api.events.property_values import check_value, render_value
from events_api.events.rows import EventRow, RecordRow
from events_api.events.schemas import Event, EventList, PropertyRecord, PropertyRecordList
from events_api.events.validation import CatalogRefs, EventIn, ReadEvent
from events_api.events.writer import GroupCommitWriter

RELATION_NAME = "event_id_event_type_id_customer_id_external_id_secondary_external_id"


def _plain(name: str, _position: int | None) -> str:
    return name


def batch_names(prefix: str) -> Callable[[str, int | None], str]:
    """Names of a batch item's problems: paths in the batch body (prefix e.g. "events[3].")."""

    def name(field: str, position: int | None) -> str:
        if field in ("event_type_id", "customer_id", "customer_identifier_value"):
            return f"{prefix}event.{field}"
        if position is None:
            return f"{prefix}property_records.{field}"
        return f"{prefix}property_records[{position}].{field}"

    return name


async def resolve_customer(
    db: Database, event: EventIn, name: Callable[[str, int | None], str] = _plain
) -> tuple[EventIn, list[InvalidParam]]:
    """The event with the customer_id its customer identifier finds in the customer directory
    (a connection is borrowed only for an identifier), or the problem: no customer or several."""
    if event.customer_identifier is None:
        return event, []
    kind, value = event.customer_identifier
    async with db.read() as conn:
        found = await customers.customers_with(conn, kind, value)
    if len(found) == 1:
        return replace(event, customer_id=found[0], customer_identifier=None), []
    shown: Any = value
    if isinstance(value, tuple):
        shown = {"customer_source_id": value[0], "external_id": value[1]}
    field = name("customer_identifier_value", None)
    if found:
        problem = InvalidParam(field, "not_allowed_value", shown, "customer_ambiguous")
    else:
        problem = InvalidParam(field, "not_found", shown, "customer_not_found")
    return event, [problem]


def unknown_customer(
    customer_id: str, name: Callable[[str, int | None], str] = _plain
) -> InvalidParam:
    """An event naming a customer the loaded customer directory lacks (CHECK_CUSTOMER_IDS)."""
    return InvalidParam(
        name("customer_id", None), "not_found", customer_id, "customer_id_not_found"
    )


# The properties assigned to an event type (None: no such type).
TypeLookup = Callable[[str], Awaitable[TypeProperties | None]]


async def catalog_problems(
    db: Database,
    catalog: CatalogCache,
    event: CatalogRefs,
    name: Callable[[str, int | None], str] = _plain,
    lookup: TypeLookup | None = None,
) -> list[InvalidParam]:
    """Every problem of an event against the catalog (type, properties, values).

    An unknown event type does not hide its records' problems: duplicates and unknown
    properties are reported with it. `name` names each problem (batches name them by their
    path), `lookup` finds a type's properties (by default the catalog cache).
    """
    if lookup is None:
        found = await catalog.type_properties(db, event.event_type_id)
    else:
        found = await lookup(event.event_type_id)
    problems: list[InvalidParam] = []
    if found is None:
        problems.append(
            InvalidParam(
                name("event_type_id", None),
                "not_found",
                event.event_type_id,
                "event_type_not_found",
            )
        )
    assigned = found or {}
    unassigned = {r.property_id for r in event.records if r.property_id not in assigned}
    existing = await catalog.existing_property_ids(db, unassigned) if unassigned else set()
    seen: set[str] = set()
    for record in event.records:
        prop = assigned.get(record.property_id)
        # (reason, message key) of a property_id problem; its name is built only when needed
        refused: tuple[str, str] | None = None
        if record.property_id in seen:
            refused = ("already_exists", "property_duplicate")
        elif prop is None and record.property_id not in existing:
            refused = ("not_found", "property_not_found")
        elif prop is None and found is not None:
            refused = ("not_allowed_value", "property_not_assigned")
        if refused is not None:
            reason, key = refused
            problems.append(
                InvalidParam(name("property_id", record.position), reason, record.property_id, key)
            )
        elif prop is not None and (problem := check_value(prop, record.property_value)):
            problems.append(
                InvalidParam(
                    name("property_value", record.position),
                    problem.reason,
                    record.property_value,
                    problem.message,
                    {"data_type": prop.data_type},
                )
            )
        seen.add(record.property_id)
    given = {r.property_id for r in event.records if r.property_value is not None}
    for prop in assigned.values() if event.complete else ():
        if prop.is_required and prop.property_id not in given:
            problems.append(
                InvalidParam(
                    name("property_id", None), "required", prop.property_id, "property_required"
                )
            )
    return problems


async def create_event(
    db: Database,
    catalog: CatalogCache,
    directory: CustomerDirectory,
    writer: GroupCommitWriter,
    reading: ReadEvent,
    now: datetime,
) -> str:
    """Validate, then write the event and its records in one transaction; return its id.

    Every problem is reported at once: those of the body's shape, a customer the loaded
    customer directory lacks, and, whenever the body names an event type, those against the
    catalog. The write goes through the group-commit writer:
    it returns once the transaction holding the event has committed. No connection is held
    while waiting for it.
    """
    problems = list(reading.problems)
    if reading.refs is not None:
        problems += await catalog_problems(db, catalog, reading.refs)
    event = reading.event
    if event is not None:
        event, customer_problems = await resolve_customer(db, event)
        problems = customer_problems + problems
    if reading.customer_id is not None and await directory.unknown(db, [reading.customer_id]):
        problems.append(unknown_customer(reading.customer_id))
    BadRequest.raise_if(problems)
    assert event is not None  # no problem: the shape was right
    event_id = new_id()
    row, records = event.rows(event_id, now)
    if not await writer.write(row, records):
        relation = (
            event.event_type_id,
            event.customer_id,
            event.external_id,
            event.secondary_external_id,
        )
        raise BadRequest(
            [
                InvalidParam(
                    RELATION_NAME,
                    "relation_already_exists",
                    ", ".join(part for part in relation if part is not None),
                )
            ]
        )
    return event_id


async def records_catalog(cache: CatalogCache, db: Database, lang: Lang) -> CatalogSnapshot:
    """The catalog property records are answered with: names in the answer's language, data
    types and items (from memory, as the catalog reads)."""
    return (await cache.snapshot(db)).in_lang(lang)


def property_record(row: RecordRow, catalog: CatalogSnapshot) -> PropertyRecord:
    """A stored property record as every read answers it: the property's name in the answer's
    language and the value in the documented form of its data type (property_values.py), both
    from the catalog as it is now. (A property the catalog snapshot does not know yet keeps
    its stored name and value.)"""
    prop = catalog.properties.get(row.property_id)
    return PropertyRecord(
        property_record_id=f"{row.property_id}:{row.event_id}",
        property_id=row.property_id,
        property_name=row.property_name if prop is None else prop.name,
        property_value=render_value(
            None if prop is None else prop.data_type,
            catalog.items.get(row.property_id, {}),
            row.property_value,
        ),
        last_change=format_datetime(row.last_change),
    )


def _event(row: EventRow, records: list[PropertyRecord] | None = None) -> Event:
    fields = row._asdict()
    fields["created_at"] = format_datetime(row.created_at)
    return Event(**fields, property_records=records)


async def get_event(lookups: EventLookups, event_id: str) -> Event:
    row = await lookups.get(event_id)
    if row is None:
        raise NotFound("events", event_id)
    return _event(row)


async def check_customer(
    conn: AsyncConnection, db: Database, directory: CustomerDirectory, customer_id: str
) -> None:
    """A 404 for a customer the loaded customer directory lacks (CHECK_CUSTOMER_IDS); read
    through the request's connection `conn` when the answer is not kept already."""
    if await directory.unknown(db, [customer_id], conn):
        raise NotFound("customers", customer_id)


async def list_events(
    conn: AsyncConnection,
    where: EventFilter,
    sort: Sort,
    page: Page,
    records: CatalogSnapshot | None,
) -> EventList:
    """A page of events; with their property records when `records` (the catalog to answer
    them with, `records_catalog`) is given."""
    rows = await repository.list_events(conn, where, sort, page)
    total = page.known_total(len(rows))
    if total is None:
        total = await repository.count_events(conn, where)
    if records is None:
        return EventList(events=[_event(row) for row in rows], total_items=total)
    by_event: dict[str, list[PropertyRecord]] = defaultdict(list)
    if rows:
        for record in await repository.records_of(conn, [row.event_id for row in rows]):
            by_event[record.event_id].append(property_record(record, records))
    return EventList(
        events=[_event(row, by_event.get(row.event_id, [])) for row in rows], total_items=total
    )


async def property_records(
    pages: RecordPages, event_id: str, page: Page, catalog: CatalogSnapshot
) -> PropertyRecordList:
    found = await pages.get((event_id, page.size, page.offset))
    if found is None or not found.exists:
        raise NotFound("events", event_id)
    records = [property_record(row, catalog) for row in found.rows]
    return PropertyRecordList(property_records=records, total_items=found.total)
