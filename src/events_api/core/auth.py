"""HTTP Basic `login:token` on every API route, with failed logins throttled (core/ratelimit.py).

Nothing here logs or echoes credentials: errors carry no header, login or token.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBasic

from events_api.api_users import service
from events_api.core.db import Connection
from events_api.core.errors import TooManyRequests, Unauthorized
from events_api.core.ratelimit import throttle_of


class _DocumentedBasic(HTTPBasic):
    """Only documents the scheme in OpenAPI. FastAPI's own HTTPBasic answers some malformed
    headers itself (before the limiter could count them); the header is parsed below instead,
    so every failure is counted and gets CareCloud's error body."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


basic_scheme = _DocumentedBasic(auto_error=False, realm="events-api", scheme_name="basicAuth")


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


@dataclass(frozen=True)
class Attempt:
    address: str
    header_sent: bool
    credentials: tuple[str, str] | None


def client_address(request: Request) -> str:
    """The ASGI scope's client: the peer, or the forwarded address of a trusted proxy."""
    return request.client.host if request.client else ""


async def admit(request: Request) -> Attempt:
    """Parse the credentials and refuse a throttled client before any database work (429)."""
    header = request.headers.get("authorization")
    attempt = Attempt(client_address(request), bool(header), parse_basic(header))
    if attempt.header_sent:
        throttle = throttle_of(request.app.state)
        login = attempt.credentials[0] if attempt.credentials else None
        wait = throttle.retry_after(attempt.address, login)
        if wait is not None:
            raise TooManyRequests(retry_after=wait)
        if attempt.credentials is None:  # malformed: counts against the address
            throttle.failed(attempt.address, None)
            raise Unauthorized()
    return attempt


async def require_api_user(
    request: Request,
    attempt: Annotated[Attempt, Depends(admit)],  # before `conn`: 429 needs no connection
    conn: Connection,
    _scheme: Annotated[object, Depends(basic_scheme)],
) -> str:
    throttle = throttle_of(request.app.state)
    if attempt.credentials is None:
        raise Unauthorized()
    login, token = attempt.credentials
    if not await service.verify(conn, login, token):
        throttle.failed(attempt.address, login)
        raise Unauthorized()
    throttle.succeeded(attempt.address, login)
    request.state.api_user = login
    return login


ApiUserDep = Annotated[str, Depends(require_api_user)]
