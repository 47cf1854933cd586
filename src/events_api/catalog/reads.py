"""The rules of the catalog reads: filters, order and pages over the cached catalog.

The catalog is small and read whole from the per-process cache (catalog/cache.py), so
filtering, sorting and paging happen in memory. Entries in state 0 (deleted: left out of the
file by `catalog load --prune`) are listed too, with their state, as CareCloud keeps them.
Names are in the answer's language (`lang`, from Accept-Language): the name filter and the
order by name apply to the names answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from events_api.catalog.cache import CatalogCache
from events_api.catalog.read_schemas import (
    EventGroup,
    EventGroupList,
    EventType,
    EventTypeList,
    Property,
    PropertyList,
)
from events_api.catalog.snapshot import CatalogSnapshot
from events_api.core.db import Database
from events_api.core.errors import InvalidParam, NotFound
from events_api.core.i18n import Lang
from events_api.core.pagination import Page
from events_api.core.sorting import Sort

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class CatalogFilter:
    name: str | None = None  # a case-insensitive part of the name
    text_id: str | None = None
    event_group_text_ids: Sequence[str] = ()  # OR between values
    problems: tuple[InvalidParam, ...] = field(default=(), compare=False)

    def matches(self, entry: Any) -> bool:
        if self.name is not None and self.name.casefold() not in entry.name.casefold():
            return False
        if self.text_id is not None and entry.text_id != self.text_id:
            return False
        return not (
            self.event_group_text_ids and entry.event_group_text_id not in self.event_group_text_ids
        )


def _key(value: Any) -> tuple[bool, Any]:
    """Order like PostgreSQL: NULLs after every value in ASC, before them in DESC."""
    return (value is None, value if value is not None else 0)


def _page(entries: list[M], sort: Sort, page: Page, id_field: str) -> tuple[list[M], int]:
    field_name = str(sort.column.key)

    def key(entry: M) -> tuple[Any, ...]:
        return (_key(getattr(entry, field_name)), getattr(entry, id_field))

    ordered = sorted(entries, key=key, reverse=sort.descending)
    return ordered[page.offset : page.offset + page.size], len(ordered)


async def _catalog(cache: CatalogCache, db: Database, lang: Lang) -> CatalogSnapshot:
    return (await cache.snapshot(db)).in_lang(lang)


def _select(entries: Sequence[M], where: CatalogFilter) -> list[M]:
    return [entry for entry in entries if where.matches(entry)]


async def list_groups(
    cache: CatalogCache, db: Database, lang: Lang, where: CatalogFilter, sort: Sort, page: Page
) -> EventGroupList:
    snapshot = await _catalog(cache, db, lang)
    found, total = _page(
        _select(list(snapshot.groups.values()), where), sort, page, "event_group_id"
    )
    return EventGroupList(event_groups=found, total_items=total)


async def list_types(
    cache: CatalogCache, db: Database, lang: Lang, where: CatalogFilter, sort: Sort, page: Page
) -> EventTypeList:
    snapshot = await _catalog(cache, db, lang)
    found, total = _page(_select(list(snapshot.types.values()), where), sort, page, "event_type_id")
    return EventTypeList(event_types=found, total_items=total)


async def list_properties(
    cache: CatalogCache, db: Database, lang: Lang, where: CatalogFilter, sort: Sort, page: Page
) -> PropertyList:
    snapshot = await _catalog(cache, db, lang)
    found, total = _page(
        _select(list(snapshot.properties.values()), where), sort, page, "property_id"
    )
    return PropertyList(event_properties=found, total_items=total)


async def list_type_properties(
    cache: CatalogCache, db: Database, lang: Lang, event_type_id: str, sort: Sort, page: Page
) -> PropertyList:
    snapshot = await _catalog(cache, db, lang)
    if event_type_id not in snapshot.types:
        raise NotFound("event-types", event_type_id)
    assigned = [
        snapshot.properties[prop_id]
        for prop_id in snapshot.type_properties.get(event_type_id, ())
        if prop_id in snapshot.properties
    ]
    found, total = _page(assigned, sort, page, "property_id")
    return PropertyList(event_properties=found, total_items=total)


async def get_group(
    cache: CatalogCache, db: Database, lang: Lang, event_group_id: str
) -> EventGroup:
    found = (await _catalog(cache, db, lang)).groups.get(event_group_id)
    if found is None:
        raise NotFound("event-groups", event_group_id)
    return found


async def get_type(cache: CatalogCache, db: Database, lang: Lang, event_type_id: str) -> EventType:
    found = (await _catalog(cache, db, lang)).types.get(event_type_id)
    if found is None:
        raise NotFound("event-types", event_type_id)
    return found


async def get_property(cache: CatalogCache, db: Database, lang: Lang, property_id: str) -> Property:
    found = (await _catalog(cache, db, lang)).properties.get(property_id)
    if found is None:
        raise NotFound("event-properties", property_id)
    return found
