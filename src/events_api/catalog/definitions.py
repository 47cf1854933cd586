"""What the rest of the app knows of a catalog entry (typed values, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events_api.catalog.schemas import DataType

ACTIVE = 1


@dataclass(frozen=True)
class PropertyDef:
    """An event property, as POST /events checks values against it."""

    property_id: str
    name: str
    data_type: DataType
    is_required: bool
    items: tuple[str, ...]  # ids of the active items

    @classmethod
    def from_stored(
        cls,
        property_id: str,
        name: str,
        data_type: DataType,
        is_required: bool,
        items: list[dict[str, Any]] | None,
    ) -> PropertyDef:
        active = tuple(str(i["id"]) for i in items or () if i.get("state", ACTIVE) == ACTIVE)
        return cls(property_id, name, data_type, is_required, active)


TypeProperties = dict[str, PropertyDef]
"""The properties assigned to one event type, by property id."""
