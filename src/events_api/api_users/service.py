"""API users: random tokens, stored only as a SHA-256 digest, checked in constant time.

Tokens carry 256 bits of entropy, so a fast hash is enough (no slow KDF on the request path):
verification costs one indexed lookup and a few microseconds of hashing. Each process also
remembers the (login, digest) pairs it has accepted (`AcceptedCredentials`), so steady traffic
skips the lookup; every change to API users (create, revoke, rotate) is announced on commit
(core/notify.py) and drops that memory in every process. Failures are never remembered: an unknown login and a wrong
token both take the database path, so they still cost the same.
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
from events_api.core.db import Database
from events_api.core.notify import ChangeListener, NotifiedCache, notify

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,255}$")
_DUMMY_DIGEST = hashlib.sha256(b"no such user").digest()


class LoginTaken(Exception):
    pass


class InvalidLogin(Exception):
    pass


CHANNEL = "events_api_users"
MAX_REMEMBERED = 10_000


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class AcceptedCredentials(NotifiedCache[tuple[str, bytes], bool]):
    """(login, digest) pairs accepted since the last change to API users."""

    def __init__(self, listener: ChangeListener) -> None:
        super().__init__(listener, CHANNEL, MAX_REMEMBERED)


async def _changed(conn: AsyncConnection, here: AcceptedCredentials | None) -> None:
    """Every process forgets accepted credentials when `conn` commits; `here` (this process's
    cache, when the caller has one) forgets at once."""
    if here is None:
        await notify(conn, CHANNEL)
    else:
        await here.changed(conn)


async def create_user(conn: AsyncConnection, login: str) -> str:
    """Create an API user and return its token (shown once, never stored)."""
    if not LOGIN_PATTERN.fullmatch(login):
        raise InvalidLogin(login)
    token = secrets.token_urlsafe(32)
    if not await repository.create(conn, login, digest(token)):
        raise LoginTaken(login)
    await _changed(conn, None)
    return token


async def verify(db: Database, accepted: AcceptedCredentials, login: str, token: str) -> bool:
    """True for an active user with this token; unknown logins cost the same as wrong tokens.

    A login that cannot exist (outside `LOGIN_PATTERN`) is refused before any query.
    """
    if not LOGIN_PATTERN.fullmatch(login):
        return False
    offered = digest(token)
    if accepted.get((login, offered)):
        return True
    since = accepted.generation
    async with db.read() as conn:
        stored = await repository.active_digest(conn, login)
    matches = hmac.compare_digest(stored or _DUMMY_DIGEST, offered)
    if matches and stored is not None:
        accepted.put((login, offered), True, since)
        return True
    return False


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


async def revoke_user(
    conn: AsyncConnection, login: str, here: AcceptedCredentials | None = None
) -> None:
    """Revoke a user's token: every process forgets it as this transaction commits (`here`, the
    caller's own cache if it has one, at once)."""
    if not await repository.revoke(conn, login):
        if await repository.exists(conn, login):
            raise AlreadyRevoked(login)
        raise UnknownLogin(login)
    await _changed(conn, here)


async def rotate_token(conn: AsyncConnection, login: str) -> str:
    """Issue a new token for an existing user; the old one stops working at once.

    A revoked user is made active again with the new token.
    """
    token = secrets.token_urlsafe(32)
    if not await repository.replace_digest(conn, login, digest(token)):
        raise UnknownLogin(login)
    await _changed(conn, None)
    return token
