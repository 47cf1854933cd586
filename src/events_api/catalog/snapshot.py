"""The whole catalog as response objects: what GET /event-groups, /event-types and
/event-properties serve (from the per-process cache in catalog/cache.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.catalog import repository
from events_api.catalog.read_schemas import EventGroup, EventType, Property, PropertyItem
from events_api.core.timefmt import format_datetime


@dataclass(frozen=True)
class CatalogSnapshot:
    groups: dict[str, EventGroup] = field(default_factory=dict)
    types: dict[str, EventType] = field(default_factory=dict)
    properties: dict[str, Property] = field(default_factory=dict)
    # property ids assigned to each event type, in the catalog file's order
    type_properties: dict[str, tuple[str, ...]] = field(default_factory=dict)


async def read_snapshot(conn: AsyncConnection) -> CatalogSnapshot:
    groups = {
        row["event_group_id"]: EventGroup(
            event_group_id=row["event_group_id"],
            name=row["name"],
            text_id=row["text_id"],
            state=row["state"],
        )
        for row in await repository.all_groups(conn)
    }
    types = {
        row["event_type_id"]: EventType(
            event_type_id=row["event_type_id"],
            event_group_id=row["event_group_id"],
            event_group_text_id=row["group_text_id"],
            name=row["name"],
            text_id=row["text_id"],
            icon_name=row["icon_name"],
            state=row["state"],
        )
        for row in await repository.all_types(conn)
    }
    properties = {
        row["property_id"]: Property(
            property_id=row["property_id"],
            name=row["name"],
            description=row["description"],
            data_type=row["data_type"],
            items=[PropertyItem(**item) for item in row["items"] or ()],
            is_required=row["is_required"],
            is_unique=row["is_unique"],
            last_change=format_datetime(row["last_change"]),
            state=row["state"],
        )
        for row in await repository.all_properties(conn)
    }
    assigned = await repository.all_assignments(conn)
    return CatalogSnapshot(groups, types, properties, {k: tuple(v) for k, v in assigned.items()})
