"""Response shapes of the catalog reads, field for field as CareCloud's OpenAPI has them
(components EventGroup, EventType, Property, PropertyItem)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EventGroup(BaseModel):
    event_group_id: str = Field(examples=["86e05affc7a7abefc513ab4tt0"])
    name: str = Field(examples=["Shopping Cart"])
    text_id: str = Field(examples=["shopping_cart"])
    state: int = Field(examples=[1], description="0 deleted / 1 active / 2 non active")


class EventType(BaseModel):
    event_type_id: str = Field(examples=["8bed991c68a470e7aaeffbf048"])
    event_group_id: str = Field(examples=["86e05affc7a7abefc513ab4tt0"])
    event_group_text_id: str = Field(examples=["shopping"])
    name: str = Field(examples=["Purchase"])
    text_id: str = Field(examples=["purchase"])
    icon_name: str | None = Field(default=None, examples=["shopping_cart"])
    state: int = Field(examples=[1], description="0 deleted / 1 active / 2 non active")


class PropertyItem(BaseModel):
    id: str = Field(examples=["1"])
    name: str = Field(examples=['{"en":"evening","cz":"vecer"}'])
    resource_record_id: str | None = None
    state: int = Field(default=1, examples=[1])


class Property(BaseModel):
    property_id: str = Field(examples=["has_purchase"])
    name: str = Field(examples=["Has purchase"])
    description: str | None = None
    data_type: str = Field(examples=["boolean"])
    # [] for the data types without items (a client generated from the spec iterates it)
    items: list[PropertyItem] = Field(default_factory=list)
    is_required: bool = Field(examples=[False])
    is_unique: bool = Field(examples=[False])
    last_change: str = Field(examples=["2019-06-20 14:48:09"])
    state: int = Field(examples=[1], description="0 deleted / 1 active")


class EventGroupList(BaseModel):
    event_groups: list[EventGroup]
    total_items: int


class EventTypeList(BaseModel):
    event_types: list[EventType]
    total_items: int


class PropertyList(BaseModel):
    event_properties: list[Property]
    total_items: int
