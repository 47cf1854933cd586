"""Bearer login, CareCloud's current scheme: POST /users/actions/login trades an API user's
login and token (the "password"), from a registered external application, for a random bearer
token valid BEARER_TOKEN_HOURS.

Tokens are stored as SHA-256 digests only. Each process remembers the tokens it has accepted
with their expiry (`AcceptedBearerTokens`, kept in the app's state), so a valid token is checked
without a database round trip; every change that can end tokens (an API user revoked or
rotated, an application revoked) is announced on commit (core/notify.py) and drops that memory
in every process. Expiry is checked against the clock on every request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.api_users import service as api_users
from events_api.api_users.bearer import CHANNEL, AcceptedBearerTokens
from events_api.api_users.service import digest
from events_api.core.db import Database
from events_api.core.ids import new_id
from events_api.core.notify import notify
from events_api.logins import repository

APP_NAME = re.compile(r"^\S.{0,254}$")


class UnknownApplication(Exception):
    pass


class BadCredentials(Exception):
    pass


@dataclass(frozen=True)
class Login:
    token: str
    valid_to: datetime  # aware
    api_user_id: int
    login: str


async def login(
    db: Database,
    credentials: api_users.AcceptedCredentials,
    app_id: str,
    login_name: str,
    password: str,
    hours: float,
) -> Login:
    """A new bearer token; UnknownApplication or BadCredentials when refused. The token row is
    written in a transaction of its own."""
    async with db.read() as conn:
        state = await repository.app_state(conn, app_id)
    if state != "active":
        raise UnknownApplication(app_id)
    if not await api_users.verify(db, credentials, login_name, password):
        raise BadCredentials()
    token = secrets.token_hex(20)
    valid_to = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)
    async with db.transaction() as conn:
        user = await repository.active_user(conn, login_name)
        if user is None:  # revoked in between
            raise BadCredentials()
        user_check = hashlib.sha256(bytes(user.token_digest)).digest()
        await repository.insert_token(
            conn, digest(token), user.api_user_id, app_id, user_check, valid_to
        )
    return Login(token, valid_to, user.api_user_id, login_name)


# --- external applications (the `events-api external-app` commands) -----------------------


class InvalidName(Exception):
    pass


class UnknownApp(Exception):
    pass


class AlreadyRevoked(Exception):
    pass


@dataclass(frozen=True)
class AppInfo:
    external_application_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        return "revoked" if self.revoked_at else "active"


async def create_app(conn: AsyncConnection, name: str) -> str:
    if not APP_NAME.fullmatch(name):
        raise InvalidName(name)
    app_id = new_id()
    await repository.create_app(conn, app_id, name)
    return app_id


async def list_apps(conn: AsyncConnection) -> list[AppInfo]:
    return [
        AppInfo(row.external_application_id, row.name, row.created_at, row.revoked_at)
        for row in await repository.all_apps(conn)
    ]


async def revoke_app(
    conn: AsyncConnection, app_id: str, here: AcceptedBearerTokens | None = None
) -> None:
    """Revoke an application and every token issued through it: every process forgets its
    tokens as this transaction commits (`here`, the caller's own cache if it has one, at once)."""
    if not await repository.revoke_app(conn, app_id):
        if await repository.app_state(conn, app_id) is None:
            raise UnknownApp(app_id)
        raise AlreadyRevoked(app_id)
    if here is None:
        await notify(conn, CHANNEL)
    else:
        await here.changed(conn)
