"""HTTP layer of the events resource: parameters in, envelopes out; the rules are in service."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from events_api.core.auth import require_api_user
from events_api.core.db import Connection
from events_api.core.errors import BadRequest, InvalidParam, NotFound
from events_api.core.ids import is_id
from events_api.core.openapi import ERROR_RESPONSES, body_schema
from events_api.core.pagination import PageDep
from events_api.core.params import check_text, documented_as, parse_bool
from events_api.core.replicas import ReadsDep
from events_api.core.schemas import Envelope
from events_api.core.settings import get_settings
from events_api.core.sorting import Sort, sort_params
from events_api.core.timefmt import parse_datetime
from events_api.events import service
from events_api.events.repository import DEFAULT_SORT, SORTABLE, EventFilter
from events_api.events.schemas import (
    CreatedEvent,
    Event,
    EventList,
    EventPostBody,
    PropertyRecordList,
)
from events_api.events.validation import parse_json, read_event

MAX_EVENT_TYPE_IDS = 1000
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$"
ID_SCHEMA_DICT = {"type": "string", "maxLength": get_settings().max_string_length}
ID_SCHEMA = documented_as(**ID_SCHEMA_DICT)

router = APIRouter(
    prefix="/events",
    tags=["Events"],
    dependencies=[Depends(require_api_user)],
    responses=ERROR_RESPONSES,
)


def _time(name: str, value: str | None, problems: list[InvalidParam]) -> Any:
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        problems.append(InvalidParam(name, "invalid_value_format", value, "expected_datetime"))
    return parsed


def event_filter(
    event_type_id: Annotated[
        str | None,
        Query(description="The unique ID of the event type.", json_schema_extra=ID_SCHEMA),
    ] = None,
    event_type_ids: Annotated[
        list[str] | None,
        Query(
            alias="event_type_ids[]",
            description="Event type IDs, OR between values (at most 1000).",
            json_schema_extra=documented_as(
                type="array", items=ID_SCHEMA_DICT, maxItems=MAX_EVENT_TYPE_IDS
            ),
        ),
    ] = None,
    customer_id: Annotated[
        str | None,
        Query(description="The unique ID of the customer.", json_schema_extra=ID_SCHEMA),
    ] = None,
    external_id: Annotated[
        str | None,
        Query(description="The ID from the other system.", json_schema_extra=ID_SCHEMA),
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
    problems: list[InvalidParam] = []
    limit = get_settings().max_string_length
    start = _time("time_from", time_from, problems)
    end = _time("time_to", time_to, problems)
    type_ids = [
        checked
        for value in event_type_ids or ()
        if (checked := check_text("event_type_ids", value, limit, problems)) is not None
    ]
    if len(type_ids) > MAX_EVENT_TYPE_IDS:
        problems.append(
            InvalidParam(
                "event_type_ids",
                "not_allowed_value",
                len(type_ids),
                "too_many_items",
                {"limit": MAX_EVENT_TYPE_IDS},
            )
        )
    where = EventFilter(
        event_type_id=check_text("event_type_id", event_type_id, limit, problems),
        event_type_ids=list(dict.fromkeys(type_ids)),
        customer_id=check_text("customer_id", customer_id, limit, problems),
        external_id=check_text("external_id", external_id, limit, problems),
        time_from=start,
        time_to=end,
    )
    return replace(where, problems=tuple(problems))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a new event",
    operation_id="postEvent",
    openapi_extra=body_schema(EventPostBody),
)
async def create_event(request: Request, conn: Connection) -> Envelope[CreatedEvent]:
    event = read_event(parse_json(await request.body()), get_settings())
    event_id = await service.create_event(conn, request.app.state.writer, event)
    return Envelope(data=CreatedEvent(event_id=event_id))


@router.get("", summary="Get all events", operation_id="getEvents")
async def list_events(
    reads: ReadsDep,
    page: PageDep,
    sort: Annotated[Sort, Depends(sort_params(SORTABLE, DEFAULT_SORT))],
    where: Annotated[EventFilter, Depends(event_filter)],
    include_property_records: Annotated[
        str | None,
        Query(
            description="true: each event carries its property records; false (default): null.",
            json_schema_extra=documented_as(type="boolean", default=False),
        ),
    ] = None,
) -> Envelope[EventList]:
    problems: list[InvalidParam] = []
    include = parse_bool("include_property_records", include_property_records, problems)
    BadRequest.raise_if(page.problems, sort.problems, where.problems, problems)
    listed = await reads.run(lambda conn: service.list_events(conn, where, sort, page, include))
    return Envelope(data=listed)


@router.get("/{event_id}", summary="Get an event", operation_id="getEvent")
async def get_event(event_id: str, reads: ReadsDep) -> Envelope[Event]:
    if not is_id(event_id):
        raise NotFound("events", event_id)
    return Envelope(data=await reads.run(lambda conn: service.get_event(conn, event_id)))


@router.get(
    "/{event_id}/property-records",
    summary="Get a list of all property records of an event",
    operation_id="getSubEventProperties",
)
async def property_records(event_id: str, conn: Connection) -> Envelope[PropertyRecordList]:
    if not is_id(event_id):
        raise NotFound("events", event_id)
    return Envelope(data=await service.property_records(conn, event_id))
