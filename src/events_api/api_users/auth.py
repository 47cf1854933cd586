"""HTTP Basic `login:token` or `Bearer <token>` (from POST /users/actions/login, logins/) on
every API route, with failed logins throttled (core/ratelimit.py).

Nothing here logs or echoes credentials: errors carry no header, login or token. Every malformed
`Authorization` header is a 401 (and a failure counted against the client's address).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBase as HTTPSchemeModel
from fastapi.security.base import SecurityBase

from events_api.api_users.bearer import AcceptedBearerTokens, verify_bearer
from events_api.api_users.service import AcceptedCredentials, verify
from events_api.core.deps import state_of
from events_api.core.errors import TooManyRequests, Unauthorized
from events_api.core.plain_routes import Guard
from events_api.core.state import AppState


class _DocumentedScheme(SecurityBase):
    """Only documents the scheme in OpenAPI. FastAPI's own HTTPBasic answers some malformed
    headers itself (before the limiter could count them); the header is parsed below instead,
    so every failure is counted and gets CareCloud's error body."""

    def __init__(self, scheme: str, name: str) -> None:
        self.model = HTTPSchemeModel(scheme=scheme)
        self.scheme_name = name

    async def __call__(self) -> None:
        return None


basic_scheme = _DocumentedScheme("basic", "basicAuth")  # named as CareCloud's spec names it
bearer_scheme = _DocumentedScheme("bearer", "bearerAuth")


def parse_bearer(header: str | None) -> str | None:
    """The token of `Bearer <token>` (scheme name in any letter case), or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512 or not token.isascii():
        return None
    return token


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(login, token) from `Basic base64(login:token)`; None for anything malformed."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64, not ASCII, not UTF-8
        return None
    login, sep, token = decoded.partition(":")
    if not sep or not login or not token:
        return None
    return login, token


@dataclass(frozen=True)
class LoginAttempt:
    address: str
    header_sent: bool
    credentials: tuple[str, str] | None
    bearer: str | None = None


def login_attempt(request: Request, state: AppState) -> LoginAttempt:
    """Parse the credentials and refuse a throttled client before any database work (429)."""
    header = request.headers.get("authorization")
    client = request.client
    attempt = LoginAttempt(
        client.host if client else "", bool(header), parse_basic(header), parse_bearer(header)
    )
    if attempt.header_sent:
        login = attempt.credentials[0] if attempt.credentials else None
        wait = state.throttle.retry_after(attempt.address, login)
        if wait is not None:
            raise TooManyRequests(retry_after=wait)
        if attempt.credentials is None and attempt.bearer is None:  # malformed: counts
            state.throttle.failed(attempt.address, None)
            raise Unauthorized()
    return attempt


async def authenticate(request: Request) -> str:
    """The authenticated login of this request (401 or 429 otherwise). A connection is borrowed
    only when the credentials are not already known good (so a 401 or a cached success holds
    none). Plain routes (core/plain_routes.py) run it for `require_api_user`."""
    state = state_of(request)
    attempt = login_attempt(request, state)
    if attempt.bearer is not None:
        owner = await verify_bearer(state.db, state.part(AcceptedBearerTokens), attempt.bearer)
        if owner is None:
            state.throttle.failed(attempt.address, None)
            raise Unauthorized()
        request.state.api_user = owner
        return owner
    if attempt.credentials is None:
        raise Unauthorized()
    login, token = attempt.credentials
    if not await verify(state.db, state.part(AcceptedCredentials), login, token):
        state.throttle.failed(attempt.address, login)
        raise Unauthorized()
    state.throttle.succeeded(attempt.address, login)
    request.state.api_user = login
    return login


async def require_api_user(
    request: Request,
    _scheme: Annotated[object, Depends(basic_scheme)],
    _bearer: Annotated[object, Depends(bearer_scheme)],
) -> str:
    """The authenticated login, as a dependency (the schemes document it in OpenAPI)."""
    return await authenticate(request)


# What plain routes run for the dependencies of authenticated routers.
AUTH_GUARDS: dict[Callable[..., Any], Guard] = {require_api_user: authenticate}
