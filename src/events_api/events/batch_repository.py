"""SQL of batch writes: many events (and records) in one INSERT each, from one JSON document.

The rows travel as one JSON array (json_to_recordset): one parameter, encoded by the json
module's C encoder, the same statement for 1 or 1000 rows, so nothing is re-planned or parsed
per row, unlike a VALUES list with a placeholder per value. Rows are inserted in the order
given, which is the lock order the callers chose. `data` and `property_value` are json columns
of the record set, so PostgreSQL keeps their text as json.dumps wrote it (the same text
SQLAlchemy's JSON type writes for the single-event path, key order kept); a JSON null comes out
of json_to_recordset as SQL NULL and is stored as JSON null, as the single-event path does.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_INSERT_EVENTS = text(
    "INSERT INTO events (event_id, event_type_id, customer_id, external_id, "
    "secondary_external_id, data, created_at, state) "
    "SELECT r.event_id, r.event_type_id, r.customer_id, r.external_id, "
    "r.secondary_external_id, COALESCE(r.data, 'null'), r.created_at, r.state "
    "FROM json_to_recordset(CAST(:rows AS json)) AS r(event_id varchar, event_type_id varchar, "
    "customer_id varchar, external_id varchar, secondary_external_id varchar, data json, "
    "created_at timestamp, state smallint) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
_INSERT_RECORDS = text(
    "INSERT INTO event_property_records (event_id, property_id, position, property_value, "
    "last_change) "
    "SELECT r.event_id, r.property_id, r.position, COALESCE(r.property_value, 'null'), "
    "r.last_change "
    "FROM json_to_recordset(CAST(:rows AS json)) AS r(event_id varchar, property_id varchar, "
    "position smallint, property_value json, last_change timestamp)"
)


def _document(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=_isoformat)


def _isoformat(value: Any) -> str:
    return str(value.isoformat())  # datetimes; anything else is a bug (TypeError)


async def insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert events in the order given, skipping those whose relation (or id) exists already;
    the ids inserted."""
    result = await conn.execute(_INSERT_EVENTS, {"rows": _document(rows)})
    return {row[0] for row in result.all()}


async def insert_records(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_INSERT_RECORDS, {"rows": _document(rows)})
