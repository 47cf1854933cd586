"""SQL of batch writes: many events (and records) in one INSERT each, from one JSON document.

The rows travel as one JSON array (json_to_recordset): one parameter, encoded by the json
module's C encoder, the same statement for 1 or 1000 rows, so nothing is re-planned or parsed
per row, unlike a VALUES list with a placeholder per value. Rows are inserted in the order
given, which is the lock order the callers chose. `data` and `property_value` are json columns
of the record set, so PostgreSQL keeps their text as json.dumps wrote it (the same text
SQLAlchemy's JSON type writes for the single-event path, key order kept); a JSON null comes out
of json_to_recordset as SQL NULL and is stored as JSON null, as the single-event path does.

The column lists and types come from the typed rows (events.rows) and the tables (models).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import JSON, Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.events.rows import EventRow, NewRecord
from events_api.models import event_property_records, events


def _insert_from_json(table: Table, fields: Sequence[str], suffix: str = "") -> TextClause:
    """INSERT INTO table (fields) SELECT fields FROM json_to_recordset(:rows)."""
    dialect = cast(Callable[[], Dialect], postgresql.dialect)()
    columns = ", ".join(fields)
    selected = ", ".join(
        f"COALESCE(r.{name}, 'null')" if isinstance(table.c[name].type, JSON) else f"r.{name}"
        for name in fields
    )
    types = ", ".join(f"{name} {table.c[name].type.compile(dialect=dialect)}" for name in fields)
    return text(
        f"INSERT INTO {table.name} ({columns}) SELECT {selected} "
        f"FROM json_to_recordset(CAST(:rows AS json)) AS r({types}) {suffix}"
    )


_INSERT_EVENTS = _insert_from_json(
    events, EventRow._fields, "ON CONFLICT DO NOTHING RETURNING event_id"
)
_INSERT_RECORDS = _insert_from_json(event_property_records, NewRecord._fields)


def _document(rows: Sequence[NamedTuple]) -> str:
    return json.dumps([row._asdict() for row in rows], default=_isoformat)


def _isoformat(value: Any) -> str:
    return str(value.isoformat())  # datetimes; anything else is a bug (TypeError)


async def insert_events(conn: AsyncConnection, rows: Sequence[EventRow]) -> set[str]:
    """Insert events in the order given, skipping those whose relation (or id) exists already;
    the ids inserted."""
    result = await conn.execute(_INSERT_EVENTS, {"rows": _document(rows)})
    return {event_id for (event_id,) in result.all()}


async def insert_records(conn: AsyncConnection, rows: Sequence[NewRecord]) -> None:
    await conn.execute(_INSERT_RECORDS, {"rows": _document(rows)})
