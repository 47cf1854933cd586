"""SQL of batch writes: many events (and records) in one INSERT each, from one JSON document.

The rows travel as one JSON array (json_to_recordset): one parameter, encoded by the json
module's C encoder, the same statement for 1 or 1000 rows, so nothing is re-planned or parsed
per row, unlike a VALUES list with a placeholder per value. Rows are inserted in the order
given, which is the lock order the callers chose. `data` and `property_value` are json columns
of the record set, so PostgreSQL keeps their text as json.dumps wrote it (the same text
SQLAlchemy's JSON type writes for the single-event path, key order kept); a JSON null comes out
of json_to_recordset as SQL NULL and is stored as JSON null, as the single-event path does.
A timestamp equal to the batch's `now` (every record's last_change, the created_at of every
event sent without one) is left out of the document and filled from the `:now` parameter, so
the document is built without a per-value conversion; any other timestamp travels as ISO text.

The column lists and types come from the typed rows (events.rows) and the tables (models).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import JSON, DateTime, Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.events.rows import EventRow, NewRecord
from events_api.models import event_property_records, events


def _insert_from_json(table: Table, fields: Sequence[str], suffix: str = "") -> TextClause:
    """INSERT INTO table (fields) SELECT fields FROM json_to_recordset(:rows); a timestamp
    missing from a row is `:now`."""
    dialect = cast(Callable[[], Dialect], postgresql.dialect)()
    columns = ", ".join(fields)

    def selected(name: str) -> str:
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            return f"COALESCE(r.{name}, 'null')"
        if isinstance(column_type, DateTime):
            return f"COALESCE(r.{name}, CAST(:now AS {column_type.compile(dialect=dialect)}))"
        return f"r.{name}"

    types = ", ".join(f"{name} {table.c[name].type.compile(dialect=dialect)}" for name in fields)
    return text(
        f"INSERT INTO {table.name} ({columns}) SELECT {', '.join(map(selected, fields))} "
        f"FROM json_to_recordset(CAST(:rows AS json)) AS r({types}) {suffix}"
    )


_INSERT_EVENTS = _insert_from_json(
    events, EventRow._fields, "ON CONFLICT DO NOTHING RETURNING event_id"
)
_INSERT_RECORDS = _insert_from_json(event_property_records, NewRecord._fields)


def _timestamps(table: Table, fields: Sequence[str]) -> tuple[str, ...]:
    return tuple(name for name in fields if isinstance(table.c[name].type, DateTime))


_EVENT_TIMESTAMPS = _timestamps(events, EventRow._fields)
_RECORD_TIMESTAMPS = _timestamps(event_property_records, NewRecord._fields)


def _document(rows: Sequence[NamedTuple], timestamps: tuple[str, ...], now: datetime) -> str:
    """The rows as one JSON array of objects; timestamps equal to `now` left out."""
    items = []
    for row in rows:
        item = row._asdict()
        for name in timestamps:
            if item[name] == now:
                del item[name]
        items.append(item)
    return json.dumps(items, default=_isoformat)


def _isoformat(value: Any) -> str:
    return str(value.isoformat())  # datetimes; anything else is a bug (TypeError)


async def insert_events(conn: AsyncConnection, rows: Sequence[EventRow], now: datetime) -> set[str]:
    """Insert events in the order given, skipping those whose relation (or id) exists already;
    the ids inserted. `now`: the timestamp most rows share (any value works)."""
    document = _document(rows, _EVENT_TIMESTAMPS, now)
    result = await conn.execute(_INSERT_EVENTS, {"rows": document, "now": now})
    return set(result.scalars())


async def insert_records(conn: AsyncConnection, rows: Sequence[NewRecord], now: datetime) -> None:
    document = _document(rows, _RECORD_TIMESTAMPS, now)
    await conn.execute(_INSERT_RECORDS, {"rows": document, "now": now})
