"""What GET /events filters and sorts on: the parameters, read into a typed filter.

Sorting is allow-listed: a `sort_field` is looked up among the event's columns, so client text
never reaches SQL.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, cast
from sqlalchemy.dialects.postgresql import JSONB

from events_api.core.errors import InvalidParam
from events_api.core.params import (
    TextArray,
    check_text,
    documented_as,
    given,
    parse_bool,
    text_array,
)
from events_api.core.timefmt import DATETIME_PATTERN, parse_datetime
from events_api.events.rows import EventRow
from events_api.models import events

MAX_EVENT_TYPE_IDS = 1000

# Every first-level field of Event that has an order; `json` has none, so `data` sorts as jsonb.
SORTABLE: dict[str, ColumnElement[Any]] = {
    name: cast(events.c[name], JSONB) if name == "data" else events.c[name]
    for name in EventRow._fields
}
DEFAULT_SORT = "created_at"


@dataclass(frozen=True)
class EventFilter:
    event_type_id: str | None = None
    event_type_ids: Sequence[str] = ()  # OR between values; AND with event_type_id
    customer_id: str | None = None
    external_id: str | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None
    problems: tuple[InvalidParam, ...] = field(default=(), compare=False)

    def by_type_only(self) -> bool:
        """True when only event types (or nothing) are filtered on."""
        return (
            self.customer_id is None
            and self.external_id is None
            and self.time_from is None
            and self.time_to is None
        )

    def type_ids(self) -> list[str] | None:
        """The event types matched (AND of both type filters); None for all types."""
        if self.event_type_id is None and not self.event_type_ids:
            return None
        if self.event_type_id is None:
            return list(self.event_type_ids)
        if self.event_type_ids and self.event_type_id not in self.event_type_ids:
            return []
        return [self.event_type_id]

    def clauses(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.event_type_id is not None:
            where.append(events.c.event_type_id == self.event_type_id)
        if self.event_type_ids:
            where.append(events.c.event_type_id.in_(list(self.event_type_ids)))
        if self.customer_id is not None:
            where.append(events.c.customer_id == self.customer_id)
        if self.external_id is not None:
            where.append(events.c.external_id == self.external_id)
        if self.time_from is not None:
            where.append(events.c.created_at >= self.time_from)
        if self.time_to is not None:
            where.append(events.c.created_at <= self.time_to)
        return where


def _time(name: str, raw: str | None, problems: list[InvalidParam]) -> datetime | None:
    value = given(name, raw, problems)
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        problems.append(InvalidParam(name, "invalid_value_format", value, "expected_datetime"))
    return parsed


def event_filter(max_string_length: int) -> Callable[..., Awaitable[EventFilter]]:
    """A dependency reading GET /events' filters; ids longer than `max_string_length` are 400."""
    id_schema = {"type": "string", "minLength": 1, "maxLength": max_string_length}
    type_ids_param = text_array(
        "event_type_ids",
        "Event type IDs, OR between values (at most 1000); also sent as `event_type_ids[]=a` "
        "(CareCloud's docs) or `event_type_ids[0]=a`.",
        max_string_length,
        MAX_EVENT_TYPE_IDS,
    )

    async def dependency(
        event_type_ids: Annotated[TextArray, Depends(type_ids_param)],
        event_type_id: Annotated[
            str | None,
            Query(
                description="The unique ID of the event type.",
                json_schema_extra=documented_as(**id_schema),
            ),
        ] = None,
        customer_id: Annotated[
            str | None,
            Query(
                description="The unique ID of the customer.",
                json_schema_extra=documented_as(**id_schema),
            ),
        ] = None,
        external_id: Annotated[
            str | None,
            Query(
                description="The ID from the other system.",
                json_schema_extra=documented_as(**id_schema),
            ),
        ] = None,
        time_from: Annotated[
            str | None,
            Query(
                description="created_at >= this (YYYY-MM-DD HH:MM:SS, local time).",
                json_schema_extra=documented_as(type="string", pattern=DATETIME_PATTERN),
            ),
        ] = None,
        time_to: Annotated[
            str | None,
            Query(
                description="created_at <= this (YYYY-MM-DD HH:MM:SS, local time).",
                json_schema_extra=documented_as(type="string", pattern=DATETIME_PATTERN),
            ),
        ] = None,
    ) -> EventFilter:
        problems = list(event_type_ids.problems)
        limit = max_string_length
        start = _time("time_from", time_from, problems)
        end = _time("time_to", time_to, problems)
        return EventFilter(
            event_type_id=check_text("event_type_id", event_type_id, limit, problems),
            event_type_ids=event_type_ids.values,
            customer_id=check_text("customer_id", customer_id, limit, problems),
            external_id=check_text("external_id", external_id, limit, problems),
            time_from=start,
            time_to=end,
            problems=tuple(problems),
        )

    return dependency


@dataclass(frozen=True)
class Include:
    """`include_property_records`: whether each listed event carries its property records."""

    records: bool
    problems: tuple[InvalidParam, ...] = field(default=(), compare=False)


async def include_records(
    include_property_records: Annotated[
        str | None,
        Query(
            description="true: each event carries its property records; false (default): null.",
            json_schema_extra=documented_as(type="boolean", default=False),
        ),
    ] = None,
) -> Include:
    problems: list[InvalidParam] = []
    records = parse_bool("include_property_records", include_property_records, problems)
    return Include(records, tuple(problems))


IncludeDep = Annotated[Include, Depends(include_records)]
