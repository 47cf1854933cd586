"""Query parameters read from their raw text, so every bad one lands in the same 400.

FastAPI would refuse an unparsable integer before our own checks run, and the client would
learn about one problem at a time; these helpers collect problems instead of raising.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from events_api.core.errors import InvalidParam

# ASCII digits only: `\d`, `int()` and `str.isdigit()` also accept other scripts' digits.
INTEGER = re.compile(r"-?[0-9]{1,18}")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def documented_as(**schema: Any) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` that documents a text-declared parameter as its real type."""

    def replace(generated: dict[str, Any]) -> None:
        description = generated.get("description")
        generated.clear()
        generated.update(schema, **({"description": description} if description else {}))

    return replace


def integer_schema(minimum: int, maximum: int, default: int) -> Callable[[dict[str, Any]], None]:
    return documented_as(type="integer", minimum=minimum, maximum=maximum, default=default)


def parse_int(
    name: str,
    raw: str | None,
    default: int,
    minimum: int,
    maximum: int,
    problems: list[InvalidParam],
) -> int:
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
    """A text parameter, or None (and a problem) when it is not storable or too long."""
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
    if raw is None:
        return False
    value = _BOOLEANS.get(raw.strip().lower())
    if value is None:
        problems.append(InvalidParam(name, "invalid_value_format", raw, "expected_boolean"))
        return False
    return value
