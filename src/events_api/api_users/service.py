"""API users: random tokens, stored only as a SHA-256 digest, checked in constant time.

Tokens carry 256 bits of entropy, so a fast hash is enough (no slow KDF on the request path):
verification costs one indexed lookup and a few microseconds of hashing. Each process also
remembers the (login, digest) pairs it has accepted, so steady traffic skips the lookup; every
change to API users (create, revoke, rotate) is announced on commit (core/notify.py) and drops
that memory in every process. Failures are never remembered: an unknown login and a wrong
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
from events_api.core.notify import change_listener, notify

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


class _Accepted:
    """(login, digest) pairs accepted since the last change to API users."""

    def __init__(self) -> None:
        self._pairs: set[tuple[str, bytes]] = set()
        self._generation = 0

    def clear(self) -> None:
        self._pairs = set()
        self._generation += 1

    def __contains__(self, pair: tuple[str, bytes]) -> bool:
        return change_listener.live and pair in self._pairs

    def remember(self, pair: tuple[str, bytes], since: int) -> None:
        if not change_listener.live or since != self._generation:
            return  # read before a change arrived, or nobody would tell us about the next one
        if len(self._pairs) >= MAX_REMEMBERED:
            self._pairs = set()
        self._pairs.add(pair)

    @property
    def generation(self) -> int:
        return self._generation


_accepted = _Accepted()
change_listener.subscribe(CHANNEL, _accepted.clear)


async def _changed(conn: AsyncConnection) -> None:
    await notify(conn, CHANNEL)
    _accepted.clear()


async def create_user(conn: AsyncConnection, login: str) -> str:
    """Create an API user and return its token (shown once, never stored)."""
    if not LOGIN_PATTERN.fullmatch(login):
        raise InvalidLogin(login)
    token = secrets.token_urlsafe(32)
    if not await repository.create(conn, login, digest(token)):
        raise LoginTaken(login)
    await _changed(conn)
    return token


async def verify(conn: AsyncConnection, login: str, token: str) -> bool:
    """True for an active user with this token; unknown logins cost the same as wrong tokens."""
    offered = digest(token)
    if (login, offered) in _accepted:
        return True
    since = _accepted.generation
    stored = await repository.active_digest(conn, login) if len(login) <= 255 else None
    matches = hmac.compare_digest(stored or _DUMMY_DIGEST, offered)
    if matches and stored is not None:
        _accepted.remember((login, offered), since)
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


async def revoke_user(conn: AsyncConnection, login: str) -> None:
    """Revoke a user's token: every process forgets it as this transaction commits."""
    if not await repository.revoke(conn, login):
        if await repository.exists(conn, login):
            raise AlreadyRevoked(login)
        raise UnknownLogin(login)
    await _changed(conn)


async def rotate_token(conn: AsyncConnection, login: str) -> str:
    """Issue a new token for an existing user; the old one stops working at once.

    A revoked user is made active again with the new token.
    """
    token = secrets.token_urlsafe(32)
    if not await repository.replace_digest(conn, login, digest(token)):
        raise UnknownLogin(login)
    await _changed(conn)
    return token
