"""HTTP layer of the events resource: parameters in, envelopes out; the rules are in service."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from events_api.api_users.auth import require_api_user
from events_api.catalog.cache import CatalogCache
from events_api.core.deps import Connection, StateDep
from events_api.core.errors import BadRequest, InvalidParam, NotFound
from events_api.core.ids import is_id
from events_api.core.openapi import ERROR_RESPONSES, body_schema
from events_api.core.pagination import Page, page_params
from events_api.core.params import documented_as, parse_bool
from events_api.core.schemas import Envelope
from events_api.core.settings import Settings
from events_api.core.sorting import Sort, sort_params
from events_api.core.timefmt import local_now
from events_api.events import service
from events_api.events.filters import DEFAULT_SORT, SORTABLE, EventFilter, event_filter
from events_api.events.schemas import (
    CreatedEvent,
    Event,
    EventList,
    EventPostBody,
    PropertyRecordList,
)
from events_api.events.validation import parse_json, read_event
from events_api.events.writer import GroupCommitWriter


def build_router(settings: Settings) -> APIRouter:
    """The events routes, with the limits of this app's settings."""
    router = APIRouter(
        prefix="/events",
        tags=["Events"],
        dependencies=[Depends(require_api_user)],
        responses=ERROR_RESPONSES,
    )
    PageDep = Annotated[Page, Depends(page_params(settings.max_page_size, settings.max_offset))]
    SortDep = Annotated[Sort, Depends(sort_params(SORTABLE, DEFAULT_SORT))]
    FilterDep = Annotated[EventFilter, Depends(event_filter(settings.max_string_length))]

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary="Create a new event",
        operation_id="postEvent",
        openapi_extra=body_schema(EventPostBody),
    )
    async def create_event(request: Request, state: StateDep) -> Envelope[CreatedEvent]:
        event = read_event(parse_json(await request.body()), settings)
        event_id = await service.create_event(
            state.db,
            state.part(CatalogCache),
            state.part(GroupCommitWriter),
            event,
            local_now(settings.tz),
        )
        return Envelope(data=CreatedEvent(event_id=event_id))

    @router.get("", summary="Get all events", operation_id="getEvents")
    async def list_events(
        conn: Connection,
        page: PageDep,
        sort: SortDep,
        where: FilterDep,
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

    return router
