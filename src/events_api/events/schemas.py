"""Shapes of the events resource, field for field as CareCloud's OpenAPI has them.

Responses are built from these models. The POST body (`EventPostBody`) is documented from its
model and read by events/validation.py, which takes the fields' names, required-ness, accepted
types and limits from the same model, so the document and the checks cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PropertyRecord(BaseModel):
    property_record_id: str = Field(examples=["has_purchase:0193a5b3c2d1e4f5a6b7c8d9e0"])
    property_id: str = Field(examples=["has_purchase"])
    property_name: str = Field(examples=["Has purchase"])
    property_value: Any = Field(examples=["true"])
    last_change: str = Field(examples=["2023-02-02 00:00:00"])


class Event(BaseModel):
    event_id: str = Field(examples=["82de12eb8b138791e678fd11c3"])
    event_type_id: str = Field(examples=["8bed991c68a470e7aaeffbf048"])
    customer_id: str = Field(examples=["85bc5819e09dab95437552ce79"])
    external_id: str = Field(examples=["157613"])
    data: str | list[str] | dict[str, Any] | None = Field(
        examples=['{"test":10,"test2":20}'], union_mode="left_to_right"
    )
    created_at: str = Field(examples=["2017-06-20 16:59:49"])
    secondary_external_id: str | None = None
    state: int = Field(examples=[1])
    property_records: list[PropertyRecord] | None = None


class EventList(BaseModel):
    events: list[Event]
    total_items: int


class PropertyRecordList(BaseModel):
    property_records: list[PropertyRecord]
    total_items: int


class CreatedEvent(BaseModel):
    event_id: str = Field(examples=["85c7c9d1ccf6c6dfed34edc8d2"])


MAX_PROPERTY_RECORDS = 1000


class PropertyRecordIn(BaseModel):
    property_id: str
    property_value: Any = None


class EventPost(BaseModel):
    event_type_id: str
    customer_id: str
    external_id: str | int | float
    secondary_external_id: str | int | float | None = None
    created_at: str | None = Field(default=None, examples=["2021-04-29 14:51:43"])
    data: str | list[str] | dict[str, Any] | None = None


class EventPostBody(BaseModel):
    """Request body of POST /events."""

    event: EventPost
    property_records: list[PropertyRecordIn] | None = Field(
        default=None, max_length=MAX_PROPERTY_RECORDS
    )


class CustomerEventList(BaseModel):
    customer_events: list[Event]
    total_items: int
