"""Batch ingest: many POST /events bodies validated, deduplicated and written in one transaction.

Used by POST /events/batch and by `events-api import`. Each item is read and checked exactly as a
single event is (events.validation, service.catalog_problems), its problems named by its path in
the batch body (`events[12].event.event_type_id`). The valid items are written with multi-row
INSERTs in one transaction, in the relation order the group-commit writer also uses, so a batch
and concurrent single POSTs (or other batches) always take their locks in the same order and
cannot deadlock. `ON CONFLICT DO NOTHING ... RETURNING` tells which relations already existed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError

from events_api.catalog.cache import CatalogCache
from events_api.catalog.definitions import TypeProperties
from events_api.core.db import Database
from events_api.core.errors import BadRequest, InvalidParam
from events_api.core.ids import new_ids
from events_api.core.settings import Settings
from events_api.customers.cache import CustomerDirectory
from events_api.events import batch_repository as repository
from events_api.events.batch_schemas import MAX_BATCH_ITEMS
from events_api.events.rows import EventRow, NewRecord
from events_api.events.service import (
    RELATION_NAME,
    batch_names,
    catalog_problems,
    resolve_customer,
    unknown_customer,
)
from events_api.events.validation import EventIn, read_event_item

log = logging.getLogger("events_api.batch")

ROLL_BACK_ALL = 1  # error_processing 1: the first invalid item rolls back the whole batch
WRITE_VALID = 2  # error_processing 2: every valid item is written, the others reported
_RETRYABLE = {"40P01", "40001"}  # deadlock, serialization failure: the transaction is rerun
_ATTEMPTS = 3


@dataclass(frozen=True)
class BatchIn:
    items: list[Any]
    error_processing: int = ROLL_BACK_ALL


@dataclass(frozen=True)
class Unreadable:
    """An item that is not even JSON (a malformed line of an import file)."""


@dataclass
class BatchResult:
    written: int = 0
    duplicates: list[int] = field(default_factory=list)  # indexes; relation already existed
    failed: dict[int, list[InvalidParam]] = field(default_factory=dict)  # index -> problems

    def problems(self) -> list[InvalidParam]:
        return [p for index in sorted(self.failed) for p in self.failed[index]]


def read_batch(body: Any) -> BatchIn:
    """The batch body's own shape: `events` (1000 items at most) and `error_processing`."""
    if not isinstance(body, dict):
        raise BadRequest([InvalidParam("body", "invalid_value_format", body, "expected_object")])
    problems: list[InvalidParam] = []
    items = body.get("events")
    if items is None:
        problems.append(InvalidParam("events", "required", None))
    elif not isinstance(items, list):
        problems.append(InvalidParam("events", "invalid_value_format", items, "expected_array"))
    elif len(items) > MAX_BATCH_ITEMS:
        problems.append(
            InvalidParam(
                "events",
                "not_allowed_value",
                len(items),
                "too_many_items",
                {"limit": MAX_BATCH_ITEMS},
            )
        )
    mode = body.get("error_processing")
    if mode is None:
        mode = ROLL_BACK_ALL
    elif isinstance(mode, bool) or mode not in (ROLL_BACK_ALL, WRITE_VALID):
        problems.append(
            InvalidParam(
                "error_processing", "not_allowed_value", mode, "one_of", {"allowed": "1, 2"}
            )
        )
    BadRequest.raise_if(problems)
    assert isinstance(items, list)
    return BatchIn(items, int(mode))


def _relation(event: EventIn) -> tuple[str, str, str, str | None]:
    assert event.customer_id is not None  # a customer identifier was resolved by check_items
    return (event.event_type_id, event.customer_id, event.external_id, event.secondary_external_id)


def _lock_order(row: EventRow) -> tuple[str, str, str, str]:
    """The group-commit writer's order (events.writer._Pending.relation)."""
    return (row.event_type_id, row.customer_id, row.external_id, row.secondary_external_id or "")


def _duplicate(index: int, event: EventIn) -> InvalidParam:
    parts = (part for part in _relation(event) if part is not None)
    return InvalidParam(
        f"events[{index}].event.{RELATION_NAME}", "relation_already_exists", ", ".join(parts)
    )


async def check_items(
    db: Database,
    catalog: CatalogCache,
    directory: CustomerDirectory,
    items: list[Any],
    settings: Settings,
    result: BatchResult,
) -> dict[int, EventIn]:
    """Every item read and checked against the catalog and the customer directory (one
    question for the whole batch); problems go to `result.failed`."""
    checked: dict[int, tuple[EventIn | None, list[InvalidParam]]] = {}
    customers: dict[int, str] = {}
    types: dict[str, TypeProperties | None] = {}

    async def lookup(event_type_id: str) -> TypeProperties | None:
        """The catalog cache, asked once per type and batch (it reads the database each time
        while the change listener is down, and a command-line import has none)."""
        if event_type_id not in types:
            types[event_type_id] = await catalog.type_properties(db, event_type_id)
        return types[event_type_id]

    for index, item in enumerate(items):
        prefix = f"events[{index}]."
        if isinstance(item, Unreadable):
            result.failed[index] = [
                InvalidParam(prefix[:-1], "invalid_value_format", None, "invalid_json")
            ]
            continue
        reading = read_event_item(item, settings, prefix)
        names = batch_names(prefix)
        problems = list(reading.problems)
        event = reading.event
        if event is not None:
            event, customer_problems = await resolve_customer(db, event, names)
            problems += customer_problems
        if reading.refs is not None:
            problems += await catalog_problems(db, catalog, reading.refs, names, lookup)
        if reading.customer_id is not None:
            customers[index] = reading.customer_id
        checked[index] = (event, problems)
    unknown = await directory.unknown(db, set(customers.values()))
    valid: dict[int, EventIn] = {}
    for index, (event, problems) in checked.items():
        if customers.get(index) in unknown:
            problems.append(unknown_customer(customers[index], batch_names(f"events[{index}].")))
        if problems or event is None:
            result.failed[index] = problems
        else:
            valid[index] = event
    return valid


async def write_batch(
    db: Database,
    catalog: CatalogCache,
    directory: CustomerDirectory,
    batch: BatchIn,
    settings: Settings,
    now: datetime,
    *,
    duplicates_fail: bool = True,
) -> BatchResult:
    """Check every item, then write the valid ones in one transaction (committed on return).

    error_processing 1: if any item fails (a duplicate included, when
    `duplicates_fail`), nothing is written and `written` is 0. A duplicate is an item whose
    relation exists already or comes earlier in the same batch; `events-api import` counts
    duplicates instead of failing them (`duplicates_fail=False`), so a rerun writes nothing twice.
    """
    prepared = await prepare_batch(
        db, catalog, directory, batch, settings, now, duplicates_fail=duplicates_fail
    )
    return await commit_batch(db, prepared)


@dataclass
class PreparedBatch:
    """A checked batch, ready to write: the rows in lock order, and what failed already."""

    checked: BatchResult
    valid: dict[int, EventIn]
    rows: list[tuple[int, EventRow, list[NewRecord]]]
    all_or_nothing: bool
    duplicates_fail: bool
    now: datetime


async def prepare_batch(
    db: Database,
    catalog: CatalogCache,
    directory: CustomerDirectory,
    batch: BatchIn,
    settings: Settings,
    now: datetime,
    *,
    duplicates_fail: bool = True,
) -> PreparedBatch:
    """Every item checked (reads only) and turned into rows; nothing written."""
    result = BatchResult()
    valid = await check_items(db, catalog, directory, batch.items, settings, result)
    seen: set[tuple[str, str, str, str | None]] = set()
    rows: list[tuple[int, EventRow, list[NewRecord]]] = []
    for (index, event), event_id in zip(valid.items(), new_ids(len(valid)), strict=True):
        relation = _relation(event)
        if relation in seen:
            _mark_duplicate(result, index, event, duplicates_fail)
            continue
        seen.add(relation)
        row, records = event.rows(event_id, now)
        rows.append((index, row, records))
    rows.sort(key=lambda item: _lock_order(item[1]))
    all_or_nothing = batch.error_processing == ROLL_BACK_ALL
    return PreparedBatch(result, valid, rows, all_or_nothing, duplicates_fail, now)


async def commit_batch(db: Database, prepared: PreparedBatch) -> BatchResult:
    """Write a prepared batch in one transaction (rerun on a deadlock); committed on return."""
    if not prepared.rows:
        return prepared.checked
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return await _write(db, prepared)
        except DBAPIError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate not in _RETRYABLE or attempt == _ATTEMPTS:
                raise
            log.warning("batch transaction failed (%s), rerunning it", sqlstate)
    raise AssertionError("unreachable")


class _RollBack(Exception):
    pass


async def _write(db: Database, prepared: PreparedBatch) -> BatchResult:
    checked, rows, now = prepared.checked, prepared.rows, prepared.now
    result = BatchResult(0, list(checked.duplicates), dict(checked.failed))
    try:
        async with db.transaction() as conn:
            inserted = await repository.insert_events(conn, [row for _, row, _ in rows], now)
            if len(inserted) < len(rows):
                for index, row, _ in rows:
                    if row.event_id not in inserted:
                        event = prepared.valid[index]
                        _mark_duplicate(result, index, event, prepared.duplicates_fail)
            if prepared.all_or_nothing and result.failed:
                raise _RollBack
            records = [r for _, row, recs in rows if row.event_id in inserted for r in recs]
            if records:
                await repository.insert_records(conn, records, now)
    except _RollBack:
        return result
    result.written = len(inserted)
    result.duplicates.sort()
    return result


def _mark_duplicate(result: BatchResult, index: int, event: EventIn, duplicates_fail: bool) -> None:
    result.duplicates.append(index)
    if duplicates_fail:
        result.failed[index] = [_duplicate(index, event)]
