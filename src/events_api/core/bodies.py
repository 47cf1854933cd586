"""Request bodies: strict JSON, read the same way by every route that takes one."""

from __future__ import annotations

import json
from typing import Any

from events_api.core.errors import BadRequest, InvalidParam


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(
            [InvalidParam("body", "invalid_value_format", None, "invalid_json")]
        ) from exc
