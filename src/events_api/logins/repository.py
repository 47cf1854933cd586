"""SQL for external applications and bearer tokens. Statements only; callers own the
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.models import api_users as users
from events_api.models import bearer_tokens as tokens
from events_api.models import external_applications as apps


async def create_app(conn: AsyncConnection, app_id: str, name: str) -> None:
    await conn.execute(insert(apps).values(external_application_id=app_id, name=name))


async def all_apps(conn: AsyncConnection) -> Sequence[Any]:
    stmt = select(
        apps.c.external_application_id, apps.c.name, apps.c.created_at, apps.c.revoked_at
    ).order_by(apps.c.created_at, apps.c.external_application_id)
    return (await conn.execute(stmt)).all()


async def app_state(conn: AsyncConnection, app_id: str) -> str | None:
    """'active', 'revoked', or None when there is no such application."""
    stmt = select(apps.c.revoked_at).where(apps.c.external_application_id == app_id)
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    return "revoked" if row.revoked_at is not None else "active"


async def revoke_app(conn: AsyncConnection, app_id: str) -> bool:
    """Revoke an active application and its tokens; False when there is none such."""
    stmt = (
        update(apps)
        .where(apps.c.external_application_id == app_id, apps.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(apps.c.external_application_id)
    )
    if (await conn.execute(stmt)).first() is None:
        return False
    await conn.execute(
        update(tokens)
        .where(tokens.c.external_application_id == app_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return True


async def active_user(conn: AsyncConnection, login: str) -> Any:
    """(api_user_id, token_digest) of an active API user, or None."""
    stmt = select(users.c.api_user_id, users.c.token_digest).where(
        users.c.login == login, users.c.revoked_at.is_(None)
    )
    return (await conn.execute(stmt)).first()


async def insert_token(
    conn: AsyncConnection,
    digest: bytes,
    api_user_id: int,
    app_id: str,
    user_check: bytes,
    valid_to: datetime,
) -> None:
    await conn.execute(
        insert(tokens).values(
            token_digest=digest,
            api_user_id=api_user_id,
            external_application_id=app_id,
            user_check=user_check,
            valid_to=valid_to,
        )
    )
