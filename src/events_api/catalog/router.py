"""HTTP layer of the catalog reads: event groups, event types and event properties.

Read-only, as in CareCloud (the catalog is managed with `events-api catalog load`).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, column

from events_api.api_users.auth import require_api_user
from events_api.catalog import reads
from events_api.catalog.cache import CatalogCache
from events_api.catalog.read_schemas import (
    EventGroup,
    EventGroupList,
    EventType,
    EventTypeList,
    Property,
    PropertyList,
)
from events_api.catalog.reads import CatalogFilter
from events_api.core.deps import LangDep, StateDep
from events_api.core.errors import BadRequest, InvalidParam
from events_api.core.openapi import ERROR_RESPONSES
from events_api.core.pagination import Page, page_params
from events_api.core.params import TextArray, check_text, documented_as, text_array
from events_api.core.schemas import Envelope
from events_api.core.settings import Settings
from events_api.core.sorting import Sort, sort_params

MAX_GROUP_TEXT_IDS = 1000


def _columns(*names: str) -> dict[str, ColumnElement[Any]]:
    """Sortable first-level fields; the service sorts by `column.name` (never SQL here)."""
    return {name: column(name) for name in names}


GROUP_SORT = _columns("event_group_id", "name", "text_id", "state")
TYPE_SORT = _columns(
    "event_type_id",
    "event_group_id",
    "event_group_text_id",
    "name",
    "text_id",
    "icon_name",
    "state",
)
PROPERTY_SORT = _columns(
    "property_id",
    "name",
    "description",
    "data_type",
    "is_required",
    "is_unique",
    "last_change",
    "state",
)


def build_router(settings: Settings) -> APIRouter:
    """The catalog read routes, with the limits of this app's settings."""
    router = APIRouter(dependencies=[Depends(require_api_user)], responses=ERROR_RESPONSES)
    limit = settings.max_string_length
    text_schema = {"type": "string", "minLength": 1, "maxLength": limit}
    PageDep = Annotated[Page, Depends(page_params(settings.max_page_size, settings.max_offset))]
    group_text_ids_param = text_array(
        "event_group_text_id",
        "Event group text IDs, OR between values (at most 1000); also sent as "
        "`event_group_text_id[]=a` or `event_group_text_id[0]=a`.",
        limit,
        MAX_GROUP_TEXT_IDS,
    )

    async def _name_filter(
        name: Annotated[
            str | None,
            Query(
                description="Search record by name or a part of the name (any letter case).",
                json_schema_extra=documented_as(**text_schema),
            ),
        ] = None,
    ) -> CatalogFilter:
        problems: list[InvalidParam] = []
        checked = check_text("name", name, limit, problems)
        return CatalogFilter(name=checked, problems=tuple(problems))

    async def _text_id_filter(
        where: Annotated[CatalogFilter, Depends(_name_filter)],
        text_id: Annotated[
            str | None,
            Query(description="Text ID (exact).", json_schema_extra=documented_as(**text_schema)),
        ] = None,
    ) -> CatalogFilter:
        problems = list(where.problems)
        checked = check_text("text_id", text_id, limit, problems)
        return CatalogFilter(name=where.name, text_id=checked, problems=tuple(problems))

    async def _type_filter(
        where: Annotated[CatalogFilter, Depends(_text_id_filter)],
        group_text_ids: Annotated[TextArray, Depends(group_text_ids_param)],
    ) -> CatalogFilter:
        return CatalogFilter(
            name=where.name,
            text_id=where.text_id,
            event_group_text_ids=group_text_ids.values,
            problems=(*where.problems, *group_text_ids.problems),
        )

    @router.get(
        "/event-groups",
        tags=["Event groups"],
        summary="Get all event groups",
        operation_id="getEventGroups",
    )
    async def list_event_groups(
        state: StateDep,
        lang: LangDep,
        page: PageDep,
        sort: Annotated[Sort, Depends(sort_params(GROUP_SORT, "name"))],
        where: Annotated[CatalogFilter, Depends(_text_id_filter)],
    ) -> Envelope[EventGroupList]:
        BadRequest.raise_if(page.problems, sort.problems, where.problems)
        return Envelope(
            data=await reads.list_groups(
                state.part(CatalogCache), state.db, lang, where, sort, page
            )
        )

    @router.get(
        "/event-groups/{event_group_id}",
        tags=["Event groups"],
        summary="Get an event group",
        operation_id="getEventGroup",
    )
    async def get_event_group(
        event_group_id: str, state: StateDep, lang: LangDep
    ) -> Envelope[EventGroup]:
        return Envelope(
            data=await reads.get_group(state.part(CatalogCache), state.db, lang, event_group_id)
        )

    @router.get(
        "/event-types",
        tags=["Event types"],
        summary="Get all event types",
        operation_id="getEventTypes",
    )
    async def list_event_types(
        state: StateDep,
        lang: LangDep,
        page: PageDep,
        sort: Annotated[Sort, Depends(sort_params(TYPE_SORT, "name"))],
        where: Annotated[CatalogFilter, Depends(_type_filter)],
    ) -> Envelope[EventTypeList]:
        BadRequest.raise_if(page.problems, sort.problems, where.problems)
        return Envelope(
            data=await reads.list_types(state.part(CatalogCache), state.db, lang, where, sort, page)
        )

    @router.get(
        "/event-types/{event_type_id}",
        tags=["Event types"],
        summary="Get an event type",
        operation_id="getEventType",
    )
    async def get_event_type(
        event_type_id: str, state: StateDep, lang: LangDep
    ) -> Envelope[EventType]:
        return Envelope(
            data=await reads.get_type(state.part(CatalogCache), state.db, lang, event_type_id)
        )

    @router.get(
        "/event-types/{event_type_id}/event-properties",
        tags=["Event types"],
        summary="Get a collection of event type properties",
        operation_id="getSubEventTypeProperties",
    )
    async def list_event_type_properties(
        event_type_id: str,
        state: StateDep,
        lang: LangDep,
        page: PageDep,
        sort: Annotated[Sort, Depends(sort_params(PROPERTY_SORT, "name"))],
    ) -> Envelope[PropertyList]:
        BadRequest.raise_if(page.problems, sort.problems)
        return Envelope(
            data=await reads.list_type_properties(
                state.part(CatalogCache), state.db, lang, event_type_id, sort, page
            )
        )

    @router.get(
        "/event-properties",
        tags=["Event properties"],
        summary="Get all event properties",
        operation_id="getEventProperties",
    )
    async def list_event_properties(
        state: StateDep,
        lang: LangDep,
        page: PageDep,
        sort: Annotated[Sort, Depends(sort_params(PROPERTY_SORT, "name"))],
        where: Annotated[CatalogFilter, Depends(_name_filter)],
    ) -> Envelope[PropertyList]:
        BadRequest.raise_if(page.problems, sort.problems, where.problems)
        return Envelope(
            data=await reads.list_properties(
                state.part(CatalogCache), state.db, lang, where, sort, page
            )
        )

    @router.get(
        "/event-properties/{event_property_id}",
        tags=["Event properties"],
        summary="Get an event property",
        operation_id="getEventProperty",
    )
    async def get_event_property(
        event_property_id: str, state: StateDep, lang: LangDep
    ) -> Envelope[Property]:
        return Envelope(
            data=await reads.get_property(
                state.part(CatalogCache), state.db, lang, event_property_id
            )
        )

    return router
