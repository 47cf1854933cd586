"""The `{"data": ...}` envelope every success response has."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel
from starlette.responses import Response

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    data: T


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    """`body` as FastAPI answers a route's `response_model` (pydantic's JSON, in Rust)."""
    return Response(
        body.__pydantic_serializer__.to_json(body),
        status_code=status_code,
        media_type="application/json",
    )
