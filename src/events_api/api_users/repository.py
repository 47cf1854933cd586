"""SQL for API users. Statements only; callers own the transaction."""

from __future__ import annotations

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.models import ApiUser

_users: Table = ApiUser.__table__  # type: ignore[assignment]


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
