"""Typed rows the events repository returns; their fields are the one list of columns read.

The SELECTs, the sortable fields and the response mapping are all derived from these, and
`events.schemas.Event` answers with the same fields (a test checks that they agree).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple


class EventRow(NamedTuple):
    event_id: str
    event_type_id: str
    customer_id: str
    external_id: str
    data: Any
    created_at: datetime
    secondary_external_id: str | None
    state: int


class RecordRow(NamedTuple):
    event_id: str
    property_id: str
    property_name: str
    property_value: Any
    last_change: datetime


class NewRecord(NamedTuple):
    """A property record to insert, in the order the client sent it (`position`)."""

    event_id: str
    property_id: str
    position: int
    property_value: Any
    last_change: datetime


PageKey = tuple[str, int, int]  # a page of an event's property records: event id, size, offset


class RecordsPage(NamedTuple):
    """A page of an event's property records, with what its answer also needs."""

    exists: bool  # whether the event exists
    total: int  # its records, in all
    rows: list[RecordRow]
