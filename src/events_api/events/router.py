"""HTTP layer of the events resource: parameters in, envelopes out; the rules are in service."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from events_api.api_users.auth import AUTH_GUARDS, require_api_user
from events_api.catalog.cache import CatalogCache
from events_api.core.bodies import parse_json
from events_api.core.deps import LangDep, ReadsDep, StateDep, get_lang, state_of
from events_api.core.errors import BadRequest, NotFound
from events_api.core.ids import is_id
from events_api.core.json_numbers import json_response
from events_api.core.openapi import ERROR_RESPONSES, body_schema
from events_api.core.pagination import Page, page_of_request, page_params
from events_api.core.plain_routes import plain_route
from events_api.core.schemas import Envelope
from events_api.core.settings import Settings
from events_api.core.sorting import Sort, sort_params
from events_api.core.timefmt import local_now
from events_api.customers.cache import CustomerDirectory
from events_api.events import batch, service
from events_api.events.batch_schemas import BatchReport, EventBatchBody, FailedItem
from events_api.events.filters import DEFAULT_SORT, SORTABLE, EventFilter, IncludeDep, event_filter
from events_api.events.lookups import EventLookups, RecordPages
from events_api.events.schemas import (
    CreatedEvent,
    Event,
    EventList,
    EventPostBody,
    PropertyRecordList,
)
from events_api.events.validation import read_event_item
from events_api.events.writer import GroupCommitWriter


def build_router(settings: Settings) -> APIRouter:
    """The events routes, with the limits of this app's settings."""
    router = APIRouter(
        prefix="/events",
        tags=["Events"],
        dependencies=[Depends(require_api_user)],
        responses=ERROR_RESPONSES,
    )
    pages = page_params(settings.max_page_size, settings.max_offset)
    PageDep = Annotated[Page, Depends(pages)]
    plain = plain_route(
        {
            **AUTH_GUARDS,
            pages: page_of_request(settings.max_page_size, settings.max_offset),
            get_lang: get_lang,
        }
    )
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
        reading = read_event_item(parse_json(await request.body()), settings)
        event_id = await service.create_event(
            state.db,
            state.part(CatalogCache),
            state.part(CustomerDirectory),
            state.part(GroupCommitWriter),
            reading,
            local_now(settings.tz),
        )
        return Envelope(data=CreatedEvent(event_id=event_id))

    @router.post(
        "/batch",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Create a batch of events",
        description=(
            "Up to 1000 events, each exactly a POST /events body, validated and deduplicated as "
            "single events are and written in one transaction (committed before the answer). "
            "204 when every item was written. error_processing 1 (default): any invalid item, "
            "a duplicate included, writes nothing: 400 listing every problem of every item, "
            "named by path (`events[12].event.event_type_id`). error_processing 2: the valid "
            "items are written; when some failed, 200 with a report of each failed item."
        ),
        operation_id="postBulkEvents",
        openapi_extra=body_schema(EventBatchBody),
        responses={
            200: {
                "model": Envelope[BatchReport],
                "description": "error_processing 2, some items failed: the report",
            },
            204: {"description": "No Content: every item written"},
        },
    )
    async def create_events_batch(request: Request, state: StateDep, lang: LangDep) -> Response:
        body = batch.read_batch(parse_json(await request.body()))
        result = await batch.write_batch(
            state.db,
            state.part(CatalogCache),
            state.part(CustomerDirectory),
            body,
            settings,
            local_now(settings.tz),
        )
        if not result.failed:
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        if body.error_processing == batch.ROLL_BACK_ALL:
            raise BadRequest(result.problems())
        report = BatchReport(
            written=result.written,
            failed_items=[
                FailedItem.model_validate(
                    {"index": index, "invalid_params": [p.render(lang) for p in problems]}
                )
                for index, problems in sorted(result.failed.items())
            ],
            total_items=len(result.failed),
        )
        return Response(
            Envelope(data=report).model_dump_json(), media_type="application/json", status_code=200
        )

    @router.get(
        "",
        summary="Get all events",
        operation_id="getEvents",
        response_model=Envelope[EventList],
    )
    async def list_events(
        state: StateDep,
        lang: LangDep,
        reads: ReadsDep,
        page: PageDep,
        sort: SortDep,
        where: FilterDep,
        include: IncludeDep,
    ) -> Response:
        BadRequest.raise_if(page.problems, sort.problems, where.problems, include.problems)
        records = (
            await service.records_catalog(state.part(CatalogCache), state.db, lang)
            if include.records
            else None
        )
        listed = await reads.run(lambda conn: service.list_events(conn, where, sort, page, records))
        return json_response(Envelope(data=listed))

    # The hot reads are plain routes (core/plain_routes.py): documented as declared here,
    # answered without FastAPI's dependency solving; authentication runs as AUTH_GUARDS.
    async def get_event(request: Request, event_id: str) -> Response:
        if not is_id(event_id):
            raise NotFound("events", event_id)
        event = await service.get_event(state_of(request).part(EventLookups), event_id)
        return json_response(Envelope(data=event))

    async def property_records(
        request: Request, event_id: str, lang: LangDep, page: PageDep
    ) -> Response:
        if not is_id(event_id):
            raise NotFound("events", event_id)
        BadRequest.raise_if(page.problems)
        state = state_of(request)
        catalog = await service.records_catalog(state.part(CatalogCache), state.db, lang)
        listed = await service.property_records(state.part(RecordPages), event_id, page, catalog)
        return json_response(Envelope(data=listed))

    for path, endpoint, model, summary, operation_id in (
        ("/{event_id}", get_event, Envelope[Event], "Get an event", "getEvent"),
        (
            "/{event_id}/property-records",
            property_records,
            Envelope[PropertyRecordList],
            "Get a list of all property records of an event",
            "getSubEventProperties",
        ),
    ):
        router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            response_model=model,
            summary=summary,
            operation_id=operation_id,
            route_class_override=plain,
        )

    return router
