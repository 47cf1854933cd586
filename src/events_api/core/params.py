"""Query parameters read from their raw text, so every bad one lands in the same 400.

FastAPI would refuse an unparsable integer before our own checks run, and the client would
learn about one problem at a time; these helpers collect problems instead of raising.

One rule for every query parameter of every route: a parameter given with an empty value
(`customer_id=`, `count=`, `event_type_ids[]=`) is a 400 `empty` naming it (`given`), never the
same as leaving it out and never a filter on the empty string.
"""

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query, Request

from events_api.core.errors import InvalidParam

# ASCII digits only: `\d`, `int()` and `str.isdigit()` also accept other scripts' digits.
INTEGER = re.compile(r"-?[0-9]{1,18}")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# What may follow an array parameter's name: nothing, `[]` or `[N]` (N ASCII digits).
_ARRAY_SUFFIX = re.compile(r"(?:\[[0-9]*\])?")


def documented_as(**schema: Any) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` that documents a text-declared parameter as its real type."""

    def replace(generated: dict[str, Any]) -> None:
        description = generated.get("description")
        generated.clear()
        generated.update(schema, **({"description": description} if description else {}))

    return replace


def integer_schema(minimum: int, maximum: int, default: int) -> Callable[[dict[str, Any]], None]:
    return documented_as(type="integer", minimum=minimum, maximum=maximum, default=default)


def given(name: str, raw: str | None, problems: list[InvalidParam]) -> str | None:
    """The raw value, or None when absent; an empty value is a problem (and None)."""
    if raw == "":
        problems.append(InvalidParam(name, "empty", raw))
        return None
    return raw


def parse_int(
    name: str,
    raw: str | None,
    default: int,
    minimum: int,
    maximum: int,
    problems: list[InvalidParam],
) -> int:
    raw = given(name, raw, problems)
    if raw is None:
        return default
    if not INTEGER.fullmatch(raw.strip()):
        problems.append(InvalidParam(name, "invalid_value_format", raw, "expected_integer"))
        return default
    value = int(raw)
    if not minimum <= value <= maximum:
        problems.append(
            InvalidParam(
                name,
                "not_allowed_value",
                raw,
                "out_of_range",
                {"minimum": minimum, "maximum": maximum},
            )
        )
        return default
    return value


def text_problem(value: str) -> str | None:
    """Why PostgreSQL could not take this text (NUL, lone surrogates), or None."""
    if "\x00" in value:
        return "nul_character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "invalid_value_format"
    return None


def check_text(
    name: str, raw: str | None, max_length: int, problems: list[InvalidParam]
) -> str | None:
    """A text parameter, or None (and a problem) when it is empty, not storable or too long."""
    raw = given(name, raw, problems)
    if raw is None:
        return None
    problem = text_problem(raw)
    if problem:
        problems.append(InvalidParam(name, "invalid_value_format", raw, problem))
        return None
    if len(raw) > max_length:
        problems.append(
            InvalidParam(name, "not_allowed_value", raw, "too_long", {"limit": max_length})
        )
        return None
    return raw


def parse_bool(name: str, raw: str | None, problems: list[InvalidParam]) -> bool:
    raw = given(name, raw, problems)
    if raw is None:
        return False
    value = _BOOLEANS.get(raw.strip().lower())
    if value is None:
        problems.append(InvalidParam(name, "invalid_value_format", raw, "expected_boolean"))
        return False
    return value


def array_items(
    query: Iterable[tuple[str, str]], name: str, problems: list[InvalidParam]
) -> list[str]:
    """Every value of the array parameter `name`, in the order sent, from a query's pairs.

    Each pair may take any form clients send, mixed freely: plain `name=a` (a single value, or
    repeated as OpenAPI generators send arrays), bracket `name[]=a` (CareCloud's docs) or
    indexed `name[0]=a` (PHP's http_build_query); the index is not used (values are a set).
    Any other key starting with `name[` (`name[x]`, `name[0][1]`, `name[`) is a 400
    `invalid_value_format` naming the key as sent.
    """
    values: list[str] = []
    for key, value in query:
        if not key.startswith(name):
            continue
        suffix = key[len(name) :]
        if _ARRAY_SUFFIX.fullmatch(suffix):
            values.append(value)
        elif suffix.startswith("["):
            problems.append(InvalidParam(key, "invalid_value_format", value, "expected_array_key"))
    return values


def check_texts(
    name: str,
    raws: Iterable[str],
    max_length: int,
    max_items: int,
    problems: list[InvalidParam],
) -> tuple[str, ...]:
    """The values of an array of texts, each checked as `check_text`, at most `max_items` (as
    sent, repeats included), without repeats."""
    raws = list(raws)
    checked = [
        value for raw in raws if (value := check_text(name, raw, max_length, problems)) is not None
    ]
    if len(raws) > max_items:
        problems.append(
            InvalidParam(
                name, "not_allowed_value", len(raws), "too_many_items", {"limit": max_items}
            )
        )
    return tuple(dict.fromkeys(checked))


@dataclass(frozen=True)
class TextArray:
    """The checked values of one array query parameter (none given: empty)."""

    values: tuple[str, ...]
    problems: tuple[InvalidParam, ...] = field(default=(), compare=False)


def text_array(
    name: str, description: str, max_length: int, max_items: int
) -> Callable[..., Awaitable[TextArray]]:
    """A dependency reading the array of texts `name` from the raw query (`array_items`).

    The OpenAPI document names it `name`, an array (form, exploded: `name=a&name=b`), as
    CareCloud's spec does; the value FastAPI parses is only for that document.
    """

    async def dependency(
        request: Request,
        _documented: Annotated[
            list[str] | None,
            Query(
                alias=name,
                description=description,
                json_schema_extra=documented_as(
                    type="array",
                    items={"type": "string", "minLength": 1, "maxLength": max_length},
                    maxItems=max_items,
                ),
            ),
        ] = None,
    ) -> TextArray:
        problems: list[InvalidParam] = []
        raws = array_items(request.query_params.multi_items(), name, problems)
        values = check_texts(name, raws, max_length, max_items, problems)
        return TextArray(values, tuple(problems))

    return dependency
