"""Request bodies: strict JSON, read the same way by every route that takes one."""

from __future__ import annotations

import json
from typing import Any

from events_api.core.errors import BadRequest, InvalidParam


class JsonFloat(float):
    """A JSON number with a fraction or an exponent as read: a float (every check treats it as
    one) that keeps the text it was sent as, so a value can be stored with every digit
    (`149.90` stays `149.90`)."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonFloat:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity; numbers with a fraction are `JsonFloat`s."""
    try:
        return json.loads(
            body.decode("utf-8"), parse_constant=_reject_constant, parse_float=JsonFloat
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(
            [InvalidParam("body", "invalid_value_format", None, "invalid_json")]
        ) from exc
