"""Shapes of the catalog file operators load (YAML or JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DataType = Literal[
    "string", "boolean", "integer", "float", "date", "timestamp", "enum", "multiselect"
]
MULTIVALUED: tuple[DataType, ...] = ("enum", "multiselect")

Slug = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.:-]+$")
OptionalHexId = Field(default=None, pattern=r"^[0-9a-f]{26}$")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ItemIn(_Entry):
    id: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1)
    resource_record_id: str | None = None
    state: Literal[0, 1, 2] = 1


class EventGroupIn(_Entry):
    event_group_id: str | None = OptionalHexId
    name: str = Field(min_length=1)
    text_id: str = Slug
    state: Literal[0, 1, 2] = 1


class EventPropertyIn(_Entry):
    property_id: str = Slug
    name: str = Field(min_length=1)
    data_type: DataType
    description: str | None = None
    is_required: bool = False
    is_unique: bool = False
    items: list[ItemIn] | None = Field(default=None, max_length=1000)
    state: Literal[0, 1, 2] = 1


class EventTypeIn(_Entry):
    event_type_id: str | None = OptionalHexId
    event_group: str = Field(min_length=1, description="text_id (or id) of the event group")
    name: str = Field(min_length=1)
    text_id: str = Slug
    icon_name: str | None = None
    event_properties: list[str] = Field(default_factory=list)
    state: Literal[0, 1, 2] = 1


class CatalogFile(_Entry):
    event_groups: list[EventGroupIn] = Field(default_factory=list)
    event_properties: list[EventPropertyIn] = Field(default_factory=list)
    event_types: list[EventTypeIn] = Field(default_factory=list)
