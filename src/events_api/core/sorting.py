"""`sort_field` / `sort_direction`: allow-listed columns only, `ASC`/`DESC` in any case.

Every ordering ends with the resource's id as a tie-breaker, so pages never overlap or skip.
A sort field is looked up in a dict of columns, so client text never reaches SQL.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import ColumnElement, UnaryExpression

from events_api.core.errors import InvalidParam
from events_api.core.params import documented_as, given


@dataclass(frozen=True)
class Sort:
    column: ColumnElement[Any]
    descending: bool
    problems: tuple[InvalidParam, ...] = field(default=(), compare=False)

    def order_by(self, tie_breaker: ColumnElement[Any]) -> list[UnaryExpression[Any]]:
        clauses = [self.column.desc() if self.descending else self.column.asc()]
        if self.column is not tie_breaker:
            clauses.append(tie_breaker.desc() if self.descending else tie_breaker.asc())
        return clauses


def sort_params(
    columns: Mapping[str, ColumnElement[Any]], default: str
) -> Callable[..., Awaitable[Sort]]:
    """A dependency reading sort_field / sort_direction for one resource's columns."""

    async def dependency(
        sort_field: Annotated[
            str | None,
            Query(
                description=f"A first-level field of the resource. Default: {default}.",
                json_schema_extra=documented_as(type="string", enum=list(columns)),
            ),
        ] = None,
        sort_direction: Annotated[
            str | None,
            Query(
                description="ASC (default) or DESC; any letter case is accepted.",
                json_schema_extra=documented_as(type="string", enum=["ASC", "DESC"]),
            ),
        ] = None,
    ) -> Sort:
        problems: list[InvalidParam] = []
        given_direction = given("sort_direction", sort_direction, problems)
        given_field = given("sort_field", sort_field, problems)
        direction = "ASC" if given_direction is None else given_direction.upper()
        if direction not in ("ASC", "DESC"):
            problems.append(
                InvalidParam(
                    "sort_direction",
                    "not_allowed_value",
                    sort_direction,
                    "one_of",
                    {"allowed": "ASC, DESC"},
                )
            )
        column = columns.get(default if given_field is None else given_field)
        if column is None:
            problems.append(
                InvalidParam(
                    "sort_field",
                    "not_allowed_value",
                    sort_field,
                    "one_of",
                    {"allowed": ", ".join(columns)},
                )
            )
            column = columns[default]
        return Sort(column=column, descending=direction == "DESC", problems=tuple(problems))

    return dependency
