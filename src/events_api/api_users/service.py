"""API users: random tokens, stored only as a SHA-256 digest, checked in constant time.

Tokens carry 256 bits of entropy, so a fast hash is enough (no slow KDF on the request path):
verification costs one indexed lookup and a few microseconds of hashing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

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
