"""API users: random tokens, stored only as a SHA-256 digest, checked in constant time.

Tokens carry 256 bits of entropy, so a fast hash is enough (no slow KDF on the request path):
verification costs one indexed lookup and a few microseconds of hashing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.api_users import repository

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,255}$")
_DUMMY_DIGEST = hashlib.sha256(b"no such user").digest()


class LoginTaken(Exception):
    pass


class InvalidLogin(Exception):
    pass


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


async def create_user(conn: AsyncConnection, login: str) -> str:
    """Create an API user and return its token (shown once, never stored)."""
    if not LOGIN_PATTERN.fullmatch(login):
        raise InvalidLogin(login)
    token = secrets.token_urlsafe(32)
    if not await repository.create(conn, login, digest(token)):
        raise LoginTaken(login)
    return token


async def verify(conn: AsyncConnection, login: str, token: str) -> bool:
    """True for an active user with this token; unknown logins cost the same as wrong tokens."""
    stored = await repository.active_digest(conn, login) if len(login) <= 255 else None
    matches = hmac.compare_digest(stored or _DUMMY_DIGEST, digest(token))
    return matches and stored is not None


class UnknownLogin(Exception):
    pass


class AlreadyRevoked(Exception):
    pass


@dataclass(frozen=True)
class ApiUserInfo:
    """What `api-user list` shows: no token, no digest."""

    login: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        return "revoked" if self.revoked_at else "active"


async def list_users(conn: AsyncConnection) -> list[ApiUserInfo]:
    return [ApiUserInfo(*row) for row in await repository.all_users(conn)]


async def revoke_user(conn: AsyncConnection, login: str) -> None:
    """Revoke a user's token: the very next request with it is refused (nothing caches it)."""
    if not await repository.revoke(conn, login):
        if await repository.exists(conn, login):
            raise AlreadyRevoked(login)
        raise UnknownLogin(login)


async def rotate_token(conn: AsyncConnection, login: str) -> str:
    """Issue a new token for an existing user; the old one stops working at once.

    A revoked user is made active again with the new token.
    """
    token = secrets.token_urlsafe(32)
    if not await repository.replace_digest(conn, login, digest(token)):
        raise UnknownLogin(login)
    return token
