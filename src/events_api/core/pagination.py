"""`count` / `offset`, CareCloud's paging parameters, with limits from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Query

from events_api.core.errors import InvalidParam
from events_api.core.settings import get_settings


@dataclass(frozen=True)
class Page:
    count: int
    offset: int
    problems: tuple[InvalidParam, ...] = field(default=(), compare=False)


def _check_range(name: str, value: int, minimum: int, maximum: int) -> InvalidParam | None:
    if minimum <= value <= maximum:
        return None
    return InvalidParam(
        name, "not_allowed_value", value, "out_of_range", {"minimum": minimum, "maximum": maximum}
    )


def page_params(
    count: Annotated[
        int,
        Query(
            description="The number of records to return (default 100, at most MAX_PAGE_SIZE).",
            json_schema_extra={"minimum": 1},
        ),
    ] = 100,
    offset: Annotated[
        int,
        Query(
            description="The number of records from a collection to skip (default 0).",
            json_schema_extra={"minimum": 0},
        ),
    ] = 0,
) -> Page:
    settings = get_settings()
    problems = tuple(
        problem
        for problem in (
            _check_range("count", count, 1, settings.max_page_size),
            _check_range("offset", offset, 0, settings.max_offset),
        )
        if problem
    )
    return Page(count=count, offset=offset, problems=problems)


PageDep = Annotated[Page, Depends(page_params)]
