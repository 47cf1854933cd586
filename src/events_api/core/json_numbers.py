"""JSON numbers written with their exact decimal text (`149.90`, not `149.9`).

pydantic, which writes the responses, writes a float with its shortest repr and a Decimal as a
string, and no JSON writer of the standard library keeps a number's text. A value that must keep
it is an `ExactNumber`; `json_response` writes a model with pydantic (its fast Rust writer) and
each ExactNumber as the bare number. pydantic first writes it as a string made of a NUL, a
random key of this process and the number; no stored text holds a NUL (PostgreSQL text cannot,
and every writer refuses it), the key never leaves the process, and only JSON number text is
put back, so the body stays valid JSON whatever the data. Every read that may answer an
ExactNumber writes its body with `dumps`.
"""

from __future__ import annotations

import re
import secrets

from fastapi import Response
from pydantic import BaseModel
from pydantic_core import to_json

# what clients may send as a decimal number (numeric strings included): `+5`, `.5`, `5.`, `1e5`
DECIMAL_TEXT = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eE][+-]?[0-9]+)?")
_JSON_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_MARKED = "\x00" + secrets.token_hex(16)
_MARK = b'"\\u0000' + _MARKED[1:].encode()  # how pydantic writes the start of a marked number


class ExactNumber(str):
    """A number kept as JSON number text (`text`); `of` makes one from any decimal text.

    As a str it is the marked form (NUL, this process's key, the number), which pydantic
    writes as a plain string (its fast path) and `dumps` turns into the bare number.
    """

    __slots__ = ()

    def __new__(cls, text: str) -> ExactNumber:
        return super().__new__(cls, _MARKED + text)

    @property
    def text(self) -> str:
        return self[len(_MARKED) :]

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

    def __repr__(self) -> str:
        return f"ExactNumber({self.text!r})"


def dumps(model: BaseModel) -> bytes:
    """The model as JSON, ExactNumbers as bare numbers."""
    body = to_json(model)
    if _MARK not in body:
        return body
    first, *marked = body.split(_MARK)
    parts = [first]
    for part in marked:  # the number, its closing quote, what follows up to the next mark
        end = part.index(b'"')
        if not _JSON_NUMBER.fullmatch(part, 0, end):
            raise ValueError(f"not a JSON number: {part[:end]!r}")
        parts += (part[:end], part[end + 1 :])
    return b"".join(parts)


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(dumps(model), status_code=status_code, media_type="application/json")
