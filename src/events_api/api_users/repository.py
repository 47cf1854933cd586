"""SQL for API users. Statements only; callers own the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.models import api_users as _users
from events_api.models import bearer_tokens as tokens
from events_api.models import external_applications as apps


async def active_digest(conn: AsyncConnection, login: str) -> bytes | None:
    stmt = select(_users.c.token_digest).where(
        _users.c.login == login, _users.c.revoked_at.is_(None)
    )
    digest = (await conn.execute(stmt)).scalar_one_or_none()
    return bytes(digest) if digest is not None else None


async def create(conn: AsyncConnection, login: str, digest: bytes) -> bool:
    """Insert a user; False when the login is taken."""
    stmt = (
        insert(_users)
        .values(login=login, token_digest=digest)
        .on_conflict_do_nothing()
        .returning(_users.c.api_user_id)
    )
    return (await conn.execute(stmt)).first() is not None


async def all_users(conn: AsyncConnection) -> list[tuple[str, datetime, datetime | None]]:
    """(login, created_at, revoked_at) of every user, by login; never the digest."""
    stmt = select(_users.c.login, _users.c.created_at, _users.c.revoked_at).order_by(_users.c.login)
    return [(row.login, row.created_at, row.revoked_at) for row in await conn.execute(stmt)]


async def exists(conn: AsyncConnection, login: str) -> bool:
    stmt = select(_users.c.api_user_id).where(_users.c.login == login)
    return (await conn.execute(stmt)).first() is not None


async def revoke(conn: AsyncConnection, login: str) -> bool:
    """Mark an active user revoked; False when there is no active user with this login."""
    stmt = (
        update(_users)
        .where(_users.c.login == login, _users.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(_users.c.api_user_id)
    )
    return (await conn.execute(stmt)).first() is not None


async def replace_digest(conn: AsyncConnection, login: str, digest: bytes) -> bool:
    """Give a user a new token digest (and make it active); False when the login is unknown."""
    stmt = (
        update(_users)
        .where(_users.c.login == login)
        .values(token_digest=digest, revoked_at=None)
        .returning(_users.c.api_user_id)
    )
    return (await conn.execute(stmt)).first() is not None


_TOKEN_OWNER = (
    select(_users.c.login, tokens.c.valid_to)
    .select_from(
        tokens.join(_users, _users.c.api_user_id == tokens.c.api_user_id).join(
            apps, apps.c.external_application_id == tokens.c.external_application_id
        )
    )
    .where(
        tokens.c.revoked_at.is_(None),
        tokens.c.valid_to > func.now(),
        _users.c.revoked_at.is_(None),
        func.sha256(_users.c.token_digest) == tokens.c.user_check,
        apps.c.revoked_at.is_(None),
    )
)


async def token_owner(conn: AsyncConnection, digest: bytes) -> tuple[str, datetime] | None:
    """(login, valid_to) of a bearer token that is valid now, or None."""
    stmt = _TOKEN_OWNER.where(tokens.c.token_digest == digest)
    row = (await conn.execute(stmt)).first()
    return None if row is None else (str(row.login), row.valid_to)
