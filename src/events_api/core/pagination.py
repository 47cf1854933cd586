"""`count` / `offset`, CareCloud's paging parameters, with the app's limits."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Query, Request

from events_api.core.errors import InvalidParam
from events_api.core.params import integer_schema, parse_int

DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    size: int  # CareCloud's `count`
    offset: int
    problems: tuple[InvalidParam, ...] = field(default=(), compare=False)

    def known_total(self, listed: int) -> int | None:
        """`total_items` when this page, holding `listed` records, shows it (a last page that is
        not past the end); None when it must be counted."""
        if listed < self.size and (listed or self.offset == 0):
            return self.offset + listed
        return None


def page_params(max_page_size: int, max_offset: int) -> Callable[..., Awaitable[Page]]:
    """A dependency reading `count` and `offset` within these limits (its plain-route
    equivalent: `page_of_request`)."""

    async def dependency(
        count: Annotated[
            str | None,
            Query(
                description="The number of records to return (default 100, at most MAX_PAGE_SIZE).",
                json_schema_extra=integer_schema(1, max_page_size, DEFAULT_PAGE_SIZE),
            ),
        ] = None,
        offset: Annotated[
            str | None,
            Query(
                description="The number of records from a collection to skip (default 0).",
                json_schema_extra=integer_schema(0, max_offset, 0),
            ),
        ] = None,
    ) -> Page:
        return read_page(count, offset, max_page_size, max_offset)

    return dependency


def page_of_request(max_page_size: int, max_offset: int) -> Callable[[Request], Awaitable[Page]]:
    """`page_params` for plain routes (core/plain_routes.py): the same page, from the request."""

    async def of_request(request: Request) -> Page:
        query = request.query_params
        return read_page(query.get("count"), query.get("offset"), max_page_size, max_offset)

    return of_request


def read_page(count: str | None, offset: str | None, max_page_size: int, max_offset: int) -> Page:
    problems: list[InvalidParam] = []
    size = parse_int("count", count, DEFAULT_PAGE_SIZE, 1, max_page_size, problems)
    start = parse_int("offset", offset, 0, 0, max_offset, problems)
    return Page(size, start, tuple(problems))
