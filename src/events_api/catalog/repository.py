"""SQL for event groups, types and properties. Statements only; callers own the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.models import EventGroup, EventProperty, EventType, EventTypeProperty

groups: Table = EventGroup.__table__  # type: ignore[assignment]
properties: Table = EventProperty.__table__  # type: ignore[assignment]
types: Table = EventType.__table__  # type: ignore[assignment]
type_properties: Table = EventTypeProperty.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class PropertyDef:
    property_id: str
    name: str
    data_type: str
    is_required: bool
    items: tuple[str, ...]  # ids of the active items


def _property_def(row: Any) -> PropertyDef:
    items = tuple(str(i["id"]) for i in (row.items or []) if i.get("state", 1) == 1)
    return PropertyDef(row.property_id, row.name, row.data_type, row.is_required, items)


_TYPE_PROPERTIES = (
    select(
        types.c.event_type_id,
        properties.c.property_id,
        properties.c.name,
        properties.c.data_type,
        properties.c.is_required,
        properties.c["items"],
    )
    .select_from(
        types.outerjoin(
            type_properties, type_properties.c.event_type_id == types.c.event_type_id
        ).outerjoin(properties, properties.c.property_id == type_properties.c.property_id)
    )
    .where(types.c.event_type_id == bindparam("event_type_id"), types.c.state == 1)
)


async def type_properties_of(
    conn: AsyncConnection, event_type_id: str
) -> dict[str, PropertyDef] | None:
    """The properties assigned to an active event type; None when there is no such type."""
    rows = (await conn.execute(_TYPE_PROPERTIES, {"event_type_id": event_type_id})).all()
    if not rows:
        return None
    return {row.property_id: _property_def(row) for row in rows if row.property_id is not None}


async def existing_property_ids(conn: AsyncConnection, property_ids: Iterable[str]) -> set[str]:
    stmt = select(properties.c.property_id).where(properties.c.property_id.in_(list(property_ids)))
    return set((await conn.execute(stmt)).scalars())


async def ids_by_text_id(conn: AsyncConnection, table: Table, id_column: str) -> dict[str, str]:
    rows = await conn.execute(select(table.c.text_id, table.c[id_column]))
    return {row[0]: row[1] for row in rows}


async def all_property_ids(conn: AsyncConnection) -> set[str]:
    return set((await conn.execute(select(properties.c.property_id))).scalars())


async def upsert(
    conn: AsyncConnection, table: Table, key: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert or update by primary key; rows whose values did not change are left untouched."""
    if not rows:
        return
    stmt = insert(table).values(list(rows))
    changing = [c for c in rows[0] if c not in (key, "last_change")]
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={c: stmt.excluded[c] for c in rows[0] if c != key},
        where=tuple_(*(table.c[c] for c in changing)).is_distinct_from(
            tuple_(*(stmt.excluded[c] for c in changing))
        ),
    )
    await conn.execute(stmt)


async def replace_type_properties(conn: AsyncConnection, assignments: dict[str, list[str]]) -> None:
    if not assignments:
        return
    await conn.execute(
        delete(type_properties).where(type_properties.c.event_type_id.in_(list(assignments)))
    )
    rows = [
        {"event_type_id": type_id, "property_id": prop_id, "position": position}
        for type_id, prop_ids in assignments.items()
        for position, prop_id in enumerate(prop_ids)
    ]
    if rows:
        await conn.execute(insert(type_properties).values(rows))
