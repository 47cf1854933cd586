"""JSON numbers written with their exact decimal text (`149.90`, not `149.9`).

pydantic, which writes the responses, writes a float with its shortest repr and a Decimal as a
string, and no JSON writer of the standard library keeps a number's text. A value that must keep
it is an `ExactNumber`; `json_response` writes a model with pydantic (its fast Rust writer) and
each ExactNumber as the bare number. pydantic first writes it as a string made of a NUL, a
random key of this process and the number; no stored text holds a NUL (PostgreSQL text cannot,
and every writer refuses it), the key never leaves the process, and only JSON number text is
put back, so the body stays valid JSON whatever the data.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import Response
from pydantic import BaseModel
from pydantic_core import to_json

# what clients may send as a decimal number (numeric strings included): `+5`, `.5`, `5.`, `1e5`
DECIMAL_TEXT = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eE][+-]?[0-9]+)?")
_JSON_NUMBER = rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_KEY = secrets.token_hex(16)
_MARKED = re.compile(rb'"\\u0000' + _KEY.encode() + rb"(" + _JSON_NUMBER + rb')"')


class ExactNumber:
    """A number kept as JSON number text; `of` makes one from any decimal text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def of(cls, text: str) -> ExactNumber | None:
        """The JSON form of a decimal text, every digit kept (`+007.50` -> `7.50`,
        `.5` -> `0.5`, `5.` -> `5`); None when the text is not a decimal number."""
        match = DECIMAL_TEXT.fullmatch(text)
        if match is None:
            return None
        sign, whole, fraction, exponent = match.groups()
        if not whole and not fraction:
            return None
        number = ("-" if sign == "-" else "") + (whole.lstrip("0") or "0")
        if fraction:
            number += "." + fraction
        return cls(number + (exponent or ""))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExactNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"ExactNumber({self.text!r})"


def _marked(value: Any) -> str:
    if isinstance(value, ExactNumber):
        return "\x00" + _KEY + value.text
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(model: BaseModel) -> bytes:
    """The model as JSON, ExactNumbers as bare numbers."""
    body = to_json(model, fallback=_marked)
    if _KEY.encode() not in body:
        return body
    return _MARKED.sub(rb"\1", body)


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(dumps(model), status_code=status_code, media_type="application/json")
