"""Shapes of the catalog file operators load (YAML or JSON)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from events_api.core.i18n import LANGS

DataType = Literal[
    "string", "boolean", "integer", "float", "date", "timestamp", "enum", "multiselect"
]
MULTIVALUED: tuple[DataType, ...] = ("enum", "multiselect")


def _name(value: Any) -> str | dict[str, str]:
    """A plain name, or a name per language ({cs: ..., en: ...}; `cz`, as CareCloud writes
    Czech, is read as `cs`)."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("a name must not be empty")
        return value.strip()
    if not isinstance(value, dict) or not value:
        raise ValueError("a name is a string or a name per language (cs, en): {cs: ..., en: ...}")
    names: dict[str, str] = {}
    for key, text in value.items():
        lang = "cs" if key == "cz" else key
        if lang not in LANGS:
            raise ValueError(f"names are given for the languages cs and en, not {key!r}")
        if lang in names:
            raise ValueError(f"the {lang} name is given twice")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"the {key} name must be a non-empty string")
        names[lang] = text.strip()
    return names


# The name of a catalog entry or item: a string, or a string per language.
Name = Annotated[
    str | dict[str, str],
    PlainValidator(_name, json_schema_input_type=str | dict[str, str]),
]

Slug = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.:-]+$")
OptionalHexId = Field(default=None, pattern=r"^[0-9a-f]{26}$")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ItemIn(_Entry):
    id: str = Field(min_length=1, max_length=255)
    name: Name
    resource_record_id: str | None = None
    state: Literal[0, 1, 2] = 1


class EventGroupIn(_Entry):
    event_group_id: str | None = OptionalHexId
    name: Name
    text_id: str = Slug
    state: Literal[0, 1, 2] = 1


class EventPropertyIn(_Entry):
    property_id: str = Slug
    name: Name
    data_type: DataType
    description: str | None = None
    is_required: bool = False
    is_unique: bool = False
    items: list[ItemIn] | None = Field(default=None, max_length=1000)
    state: Literal[0, 1, 2] = 1


class EventTypeIn(_Entry):
    event_type_id: str | None = OptionalHexId
    event_group: str = Field(min_length=1, description="text_id (or id) of the event group")
    name: Name
    text_id: str = Slug
    icon_name: str | None = None
    event_properties: list[str] = Field(default_factory=list)
    state: Literal[0, 1, 2] = 1


class CatalogFile(_Entry):
    event_groups: list[EventGroupIn] = Field(default_factory=list)
    event_properties: list[EventPropertyIn] = Field(default_factory=list)
    event_types: list[EventTypeIn] = Field(default_factory=list)
