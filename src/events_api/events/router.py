"""HTTP layer of the events resource: parameters in, envelopes out; the rules are in service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from events_api.core.auth import require_api_user
from events_api.core.db import Connection
from events_api.core.errors import BadRequest, InvalidParam, NotFound
from events_api.core.ids import is_id
from events_api.core.openapi import ERROR_RESPONSES, body_schema
from events_api.core.pagination import PageDep
from events_api.core.params import documented_as, parse_bool
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
        str | None, Query(description="The unique ID of the event type.")
    ] = None,
    event_type_ids: Annotated[
        list[str] | None,
        Query(
            alias="event_type_ids[]",
            description="Event type IDs, OR between values (at most 1000).",
        ),
    ] = None,
    customer_id: Annotated[str | None, Query(description="The unique ID of the customer.")] = None,
    external_id: Annotated[str | None, Query(description="The ID from the other system.")] = None,
    time_from: Annotated[
        str | None, Query(description="created_at >= this (YYYY-MM-DD HH:MM:SS, local time).")
    ] = None,
    time_to: Annotated[
        str | None, Query(description="created_at <= this (YYYY-MM-DD HH:MM:SS, local time).")
    ] = None,
) -> EventFilter:
    problems: list[InvalidParam] = []
    start = _time("time_from", time_from, problems)
    end = _time("time_to", time_to, problems)
    if len(event_type_ids or ()) > MAX_EVENT_TYPE_IDS:
        problems.append(
            InvalidParam(
                "event_type_ids",
                "not_allowed_value",
                len(event_type_ids or ()),
                "too_many_items",
                {"limit": MAX_EVENT_TYPE_IDS},
            )
        )
    return EventFilter(
        problems=tuple(problems),
        event_type_id=event_type_id,
        event_type_ids=list(dict.fromkeys(event_type_ids or [])),
        customer_id=customer_id,
        external_id=external_id,
        time_from=start,
        time_to=end,
    )


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
    conn: Connection,
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
    return Envelope(data=await service.list_events(conn, where, sort, page, include))


@router.get("/{event_id}", summary="Get an event", operation_id="getEvent")
async def get_event(event_id: str, conn: Connection) -> Envelope[Event]:
    if not is_id(event_id):
        raise NotFound("events", event_id)
    return Envelope(data=await service.get_event(conn, event_id))


@router.get(
    "/{event_id}/property-records",
    summary="Get a list of all property records of an event",
    operation_id="getSubEventProperties",
)
async def property_records(event_id: str, conn: Connection) -> Envelope[PropertyRecordList]:
    if not is_id(event_id):
        raise NotFound("events", event_id)
    return Envelope(data=await service.property_records(conn, event_id))
