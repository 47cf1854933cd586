"""`events-api import` and `events-api export`: NDJSON in and out, in constant memory.

Import reads one POST /events body per line and sends chunks of up to 1000 lines through the
batch path (events.batch.write_batch): the same validation, deduplication and one transaction
per chunk. An event whose relation exists already is counted as a duplicate, never an error, so
rerunning an interrupted import writes nothing twice. error_processing 1 stops at the first
chunk with an invalid line (that chunk is rolled back; the chunks before it stay written);
2 writes every valid line and reports the others.

Export writes each matching event as one line shaped like a POST /events body (import reads it
back), with the read-only `event_id` and `state` in `event` (import ignores them): pages of
events in event_id order (keyset, no OFFSET), each page's records in one query. Property values
are written as stored (as they were accepted), not in the form reads answer: importing the file
writes the very records it came from, whatever the catalog is by then, in no one language.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from events_api.catalog.cache import CatalogCache
from events_api.core.bodies import parse_json
from events_api.core.db import Database
from events_api.core.errors import BadRequest, InvalidParam
from events_api.core.settings import Settings
from events_api.core.timefmt import format_datetime, local_now
from events_api.customers.cache import CustomerDirectory
from events_api.events import export_repository
from events_api.events.batch import (
    BatchIn,
    BatchResult,
    Unreadable,
    commit_batch,
    prepare_batch,
)
from events_api.events.batch_schemas import MAX_BATCH_ITEMS
from events_api.events.filters import EventFilter
from events_api.events.rows import EventRow

MAX_REPORTED = 1000  # problems kept for the summary; every invalid line is still counted


@dataclass
class ImportSummary:
    lines: int = 0  # lines read (blank ones included)
    bytes_read: int = 0
    written: int = 0
    duplicates: int = 0
    invalid: int = 0  # invalid lines
    problems: list[tuple[int, InvalidParam]] = field(default_factory=list)  # (line, problem)
    stopped: bool = False  # error_processing 1 stopped at a chunk with an invalid line


def _item_name(name: str) -> str:
    """`events[3].event.customer_id` -> `event.customer_id` (a line is one item)."""
    head, _, rest = name.partition(".")
    return (rest or "body") if head.startswith("events[") else name


async def import_lines(
    db: Database,
    catalog: CatalogCache,
    directory: CustomerDirectory,
    lines: Iterable[bytes],
    settings: Settings,
    error_processing: int,
    progress: Callable[[ImportSummary], None] = lambda _summary: None,
    chunk_size: int = MAX_BATCH_ITEMS,
) -> ImportSummary:
    """Chunk after chunk: each is read, checked and committed before the next is read, so a
    slow pipe never holds a transaction open. (Checking the next chunk while the previous one
    is written was tried: on a busy 2-core machine it was slower, see docs/benchmarks.md.)"""
    summary = ImportSummary()
    for chunk, line_numbers in _chunks(lines, chunk_size, summary):
        batch = BatchIn(chunk, error_processing)
        now = local_now(settings.tz)
        prepared = await prepare_batch(
            db, catalog, directory, batch, settings, now, duplicates_fail=False
        )
        result = await commit_batch(db, prepared)
        going_on = _account(result, line_numbers, error_processing, summary)
        progress(summary)
        if not going_on:
            return summary
    progress(summary)
    return summary


def _chunks(
    lines: Iterable[bytes], chunk_size: int, summary: ImportSummary
) -> Iterator[tuple[list[Any], list[int]]]:
    """(items, their line numbers), chunk by chunk; blank lines skipped, bad JSON marked."""
    chunk: list[Any] = []
    line_numbers: list[int] = []
    for raw in lines:
        summary.lines += 1
        summary.bytes_read += len(raw)
        if not raw.strip():
            continue
        try:
            chunk.append(parse_json(raw))
        except BadRequest:
            chunk.append(Unreadable())
        line_numbers.append(summary.lines)
        if len(chunk) == chunk_size:
            yield chunk, line_numbers
            chunk, line_numbers = [], []
    if chunk:
        yield chunk, line_numbers


def _account(
    result: BatchResult, line_numbers: list[int], error_processing: int, summary: ImportSummary
) -> bool:
    """Add a written chunk to the summary; False when the import stops here."""
    summary.written += result.written
    summary.duplicates += len(result.duplicates)
    summary.invalid += len(result.failed)
    for index in sorted(result.failed):
        for problem in result.failed[index]:
            if len(summary.problems) < MAX_REPORTED:
                renamed = InvalidParam(
                    _item_name(problem.name),
                    problem.reason,
                    problem.value,
                    problem.message,
                    problem.params,
                )
                summary.problems.append((line_numbers[index], renamed))
    if result.failed and error_processing == 1:
        summary.stopped = True
        return False
    return True


def _line(row: EventRow, records: list[dict[str, Any]]) -> str:
    event = {
        "event_id": row.event_id,
        "event_type_id": row.event_type_id,
        "customer_id": row.customer_id,
        "external_id": row.external_id,
        "secondary_external_id": row.secondary_external_id,
        "created_at": format_datetime(row.created_at),
        "data": row.data,
        "state": row.state,
    }
    body = {"event": event, "property_records": records}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"


async def export_events(
    db: Database, where: EventFilter, write: Callable[[str], Any], page_size: int = 1000
) -> int:
    """Write every matching event as one NDJSON line; the number written."""
    exported = 0
    after: str | None = None
    while True:
        async with db.read() as conn:
            rows = await export_repository.events_after(conn, where, after, page_size)
            if not rows:
                return exported
            by_event: dict[str, list[dict[str, Any]]] = {row.event_id: [] for row in rows}
            for rec in await export_repository.records_of(conn, list(by_event)):
                by_event[rec.event_id].append(
                    {"property_id": rec.property_id, "property_value": rec.property_value}
                )
        # the connection is back in the pool while the page is written out
        write("".join(_line(row, by_event[row.event_id]) for row in rows))
        exported += len(rows)
        after = rows[-1].event_id
