"""`count` / `offset`, CareCloud's paging parameters, with limits from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Query

from events_api.core.errors import InvalidParam
from events_api.core.params import integer_schema, parse_int
from events_api.core.settings import get_settings

DEFAULT_COUNT = 100


@dataclass(frozen=True)
class Page:
    count: int
    offset: int
    problems: tuple[InvalidParam, ...] = field(default=(), compare=False)


def page_params(
    count: Annotated[
        str | None,
        Query(
            description="The number of records to return (default 100, at most MAX_PAGE_SIZE).",
            json_schema_extra=integer_schema(1, get_settings().max_page_size, DEFAULT_COUNT),
        ),
    ] = None,
    offset: Annotated[
        str | None,
        Query(
            description="The number of records from a collection to skip (default 0).",
            json_schema_extra=integer_schema(0, get_settings().max_offset, 0),
        ),
    ] = None,
) -> Page:
    settings = get_settings()
    problems: list[InvalidParam] = []
    page = Page(
        count=parse_int("count", count, DEFAULT_COUNT, 1, settings.max_page_size, problems),
        offset=parse_int("offset", offset, 0, 0, settings.max_offset, problems),
    )
    return Page(page.count, page.offset, tuple(problems))


PageDep = Annotated[Page, Depends(page_params)]
