"""The whole catalog as response objects: what GET /event-groups, /event-types and
/event-properties serve, and what reads of property records take names, data types and items
from (from the per-process cache in catalog/cache.py). Names follow the answer's language, so
the catalog is kept once per language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.catalog import repository
from events_api.catalog.read_schemas import EventGroup, EventType, Property, PropertyItem
from events_api.core.i18n import LANGS, Lang, localized
from events_api.core.timefmt import format_datetime


@dataclass(frozen=True)
class CatalogSnapshot:
    """The catalog with its names in one language."""

    groups: dict[str, EventGroup] = field(default_factory=dict)
    types: dict[str, EventType] = field(default_factory=dict)
    properties: dict[str, Property] = field(default_factory=dict)
    # property ids assigned to each event type, in the catalog file's order
    type_properties: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the items of each enum / multiselect property, by item id
    items: dict[str, dict[str, PropertyItem]] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    """The catalog in every language an answer can have."""

    by_lang: Mapping[Lang, CatalogSnapshot]

    def in_lang(self, lang: Lang) -> CatalogSnapshot:
        return self.by_lang[lang]


def _name(row: Mapping[str, Any], lang: Lang) -> str:
    return localized(row["names"] or row["name"], lang)


def _in_lang(
    groups: Any, types: Any, properties: Any, assigned: dict[str, list[str]], lang: Lang
) -> CatalogSnapshot:
    items = {
        row["property_id"]: {
            str(item["id"]): PropertyItem(**(item | {"name": localized(item["name"], lang)}))
            for item in row["items"] or ()
        }
        for row in properties
    }
    return CatalogSnapshot(
        groups={
            row["event_group_id"]: EventGroup(
                event_group_id=row["event_group_id"],
                name=_name(row, lang),
                text_id=row["text_id"],
                state=row["state"],
            )
            for row in groups
        },
        types={
            row["event_type_id"]: EventType(
                event_type_id=row["event_type_id"],
                event_group_id=row["event_group_id"],
                event_group_text_id=row["group_text_id"],
                name=_name(row, lang),
                text_id=row["text_id"],
                icon_name=row["icon_name"],
                state=row["state"],
            )
            for row in types
        },
        properties={
            row["property_id"]: Property(
                property_id=row["property_id"],
                name=_name(row, lang),
                description=row["description"],
                data_type=row["data_type"],
                items=list(items[row["property_id"]].values()),
                is_required=row["is_required"],
                is_unique=row["is_unique"],
                last_change=format_datetime(row["last_change"]),
                state=row["state"],
            )
            for row in properties
        },
        type_properties={k: tuple(v) for k, v in assigned.items()},
        items=items,
    )


async def read_snapshot(conn: AsyncConnection) -> Catalog:
    groups = await repository.all_groups(conn)
    types = await repository.all_types(conn)
    properties = await repository.all_properties(conn)
    assigned = await repository.all_assignments(conn)
    return Catalog({lang: _in_lang(groups, types, properties, assigned, lang) for lang in LANGS})
