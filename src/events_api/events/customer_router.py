"""GET /customers/{customer_id}/events: GET /events with the customer taken from the path.

The parameters are GET /events' own (events/filters.py `event_filter`) except `customer_id`,
so both lists always filter, sort and page alike.
"""

import inspect
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from events_api.api_users.auth import require_api_user
from events_api.catalog.cache import CatalogCache
from events_api.core.deps import Connection, LangDep, StateDep
from events_api.core.errors import BadRequest, NotFound
from events_api.core.json_numbers import json_response
from events_api.core.openapi import ERROR_RESPONSES
from events_api.core.pagination import Page, page_params
from events_api.core.params import check_text
from events_api.core.schemas import Envelope
from events_api.core.settings import Settings
from events_api.core.sorting import Sort, sort_params
from events_api.customers.cache import CustomerDirectory
from events_api.events import service
from events_api.events.filters import DEFAULT_SORT, SORTABLE, EventFilter, IncludeDep, event_filter
from events_api.events.schemas import CustomerEventList


def _without_customer_id(max_string_length: int) -> Any:
    """GET /events' filter dependency without its `customer_id` parameter."""
    base = event_filter(max_string_length)

    async def dependency(**params: Any) -> EventFilter:
        return await base(customer_id=None, **params)

    # base's parameters (FastAPI reads the signature) but customer_id
    dependency.__dict__["__signature__"] = inspect.Signature(
        [p for p in inspect.signature(base).parameters.values() if p.name != "customer_id"],
        return_annotation=EventFilter,
    )
    return dependency


def build_router(settings: Settings) -> APIRouter:
    """GET /customers/{customer_id}/events, with the limits of this app's settings."""
    router = APIRouter(
        prefix="/customers",
        tags=["Customers"],
        dependencies=[Depends(require_api_user)],
        responses=ERROR_RESPONSES,
    )
    PageDep = Annotated[Page, Depends(page_params(settings.max_page_size, settings.max_offset))]
    SortDep = Annotated[Sort, Depends(sort_params(SORTABLE, DEFAULT_SORT))]
    FilterDep = Annotated[EventFilter, Depends(_without_customer_id(settings.max_string_length))]

    @router.get(
        "/{customer_id}/events",
        summary="Get information about all customer events",
        operation_id="getSubCustomerEvents",
        response_model=Envelope[CustomerEventList],
    )
    async def customer_events(
        customer_id: str,
        state: StateDep,
        lang: LangDep,
        conn: Connection,
        page: PageDep,
        sort: SortDep,
        where: FilterDep,
        include: IncludeDep,
    ) -> Response:
        if check_text("customer_id", customer_id, settings.max_string_length, []) is None:
            raise NotFound("customers", customer_id)  # no customer can have this id
        await service.check_customer(conn, state.db, state.part(CustomerDirectory), customer_id)
        BadRequest.raise_if(page.problems, sort.problems, where.problems, include.problems)
        records = (
            await service.records_catalog(state.part(CatalogCache), state.db, lang)
            if include.records
            else None
        )
        found = await service.list_events(
            conn, replace(where, customer_id=customer_id), sort, page, records
        )
        return json_response(
            Envelope(
                data=CustomerEventList(customer_events=found.events, total_items=found.total_items)
            )
        )

    return router
