"""SQL for event groups, types and properties. Statements only; callers own the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import RowMapping, Table, bindparam, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.catalog.definitions import PropertyDef, TypeProperties
from events_api.models import event_groups as groups
from events_api.models import event_properties as properties
from events_api.models import event_type_properties as type_properties
from events_api.models import event_types as types

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


async def type_properties_of(conn: AsyncConnection, event_type_id: str) -> TypeProperties | None:
    """The properties assigned to an active event type; None when there is no such type."""
    rows = (await conn.execute(_TYPE_PROPERTIES, {"event_type_id": event_type_id})).all()
    if not rows:
        return None
    return {
        row.property_id: PropertyDef.from_stored(
            row.property_id, row.name, row.data_type, row.is_required, row.items
        )
        for row in rows
        if row.property_id is not None
    }


async def existing_property_ids(conn: AsyncConnection, property_ids: Iterable[str]) -> set[str]:
    stmt = select(properties.c.property_id).where(properties.c.property_id.in_(list(property_ids)))
    return set((await conn.execute(stmt)).scalars())


async def _ids_by_text_id(conn: AsyncConnection, table: Table, id_column: str) -> dict[str, str]:
    rows = await conn.execute(select(table.c.text_id, table.c[id_column]))
    return {str(text_id): str(row_id) for text_id, row_id in rows}


async def group_ids_by_text_id(conn: AsyncConnection) -> dict[str, str]:
    return await _ids_by_text_id(conn, groups, "event_group_id")


async def type_ids_by_text_id(conn: AsyncConnection) -> dict[str, str]:
    return await _ids_by_text_id(conn, types, "event_type_id")


async def all_property_ids(conn: AsyncConnection) -> set[str]:
    return set((await conn.execute(select(properties.c.property_id))).scalars())


async def _upsert(
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


async def upsert_groups(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    await _upsert(conn, groups, "event_group_id", rows)


async def upsert_properties(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    await _upsert(conn, properties, "property_id", rows)


async def upsert_types(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    await _upsert(conn, types, "event_type_id", rows)


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


# -- the whole catalog, in a stable order (`catalog show`) ---------------------------------------


async def all_groups(conn: AsyncConnection) -> Sequence[RowMapping]:
    return (await conn.execute(select(groups).order_by(groups.c.text_id))).mappings().all()


async def all_properties(conn: AsyncConnection) -> Sequence[RowMapping]:
    stmt = select(properties).order_by(properties.c.property_id)
    return (await conn.execute(stmt)).mappings().all()


async def all_types(conn: AsyncConnection) -> Sequence[RowMapping]:
    """Every event type with its group's text_id as `group_text_id`."""
    stmt = (
        select(types, groups.c.text_id.label("group_text_id"))
        .join(groups, groups.c.event_group_id == types.c.event_group_id)
        .order_by(types.c.text_id)
    )
    return (await conn.execute(stmt)).mappings().all()


async def all_assignments(conn: AsyncConnection) -> dict[str, list[str]]:
    """The property ids of each event type, in their order."""
    stmt = select(type_properties.c.event_type_id, type_properties.c.property_id).order_by(
        type_properties.c.event_type_id,
        type_properties.c.position,
        type_properties.c.property_id,
    )
    assigned: dict[str, list[str]] = {}
    for type_id, property_id in await conn.execute(stmt):
        assigned.setdefault(type_id, []).append(property_id)
    return assigned


async def _mark_deleted(
    conn: AsyncConnection, table: Table, key: str, keep: Iterable[str], values: dict[str, Any]
) -> int:
    """Set state 0 (CareCloud's "deleted") on every row whose key is not in `keep`."""
    stmt = (
        update(table)
        .where(table.c[key].not_in(list(keep)), table.c.state != 0)
        .values(state=0, **values)
    )
    return (await conn.execute(stmt)).rowcount


async def mark_types_deleted(conn: AsyncConnection, keep: Iterable[str]) -> int:
    return await _mark_deleted(conn, types, "event_type_id", keep, {})


async def mark_properties_deleted(
    conn: AsyncConnection, keep: Iterable[str], last_change: Any
) -> int:
    return await _mark_deleted(conn, properties, "property_id", keep, {"last_change": last_change})


async def mark_groups_deleted(conn: AsyncConnection, keep: Iterable[str]) -> int:
    return await _mark_deleted(conn, groups, "event_group_id", keep, {})
