"""HTTP Basic `login:token` on every API route."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBasic

from events_api.api_users import service
from events_api.core.db import Connection
from events_api.core.errors import Unauthorized

# Only documents the scheme in OpenAPI; the header is parsed below so that every failure
# gets CareCloud's error body.
basic_scheme = HTTPBasic(auto_error=False, realm="events-api")


def parse_basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, sep, token = decoded.partition(":")
    if not sep or not login or not token:
        return None
    return login, token


async def require_api_user(
    request: Request,
    conn: Connection,
    _scheme: Annotated[object, Depends(basic_scheme)],
) -> str:
    credentials = parse_basic(request.headers.get("authorization"))
    if credentials is None or not await service.verify(conn, *credentials):
        raise Unauthorized()
    request.state.api_user = credentials[0]
    return credentials[0]


ApiUserDep = Annotated[str, Depends(require_api_user)]
