"""Liveness and readiness, outside the authenticated API.

- `/health/live`: the process answers (no I/O).
- `/health/ready`: the database answers and its schema is at the migrations' head; 503 otherwise,
  with the failing check named. A load balancer sends traffic only to ready workers. The body
  also names the role of the server reached (`database_role`: primary or replica).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from events_api.core.db import Database, database_role
from events_api.core.deps import StateDep
from events_api.core.migrate import head_revisions

router = APIRouter(prefix="/health", tags=["Health"], include_in_schema=False)

READY_TIMEOUT_SECONDS = 5.0
log = logging.getLogger("events_api.health")


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _schema_revisions(db: Database) -> tuple[set[str] | None, str]:
    """The revisions recorded in the database (None when it was never migrated), and the
    role of the server reached (primary or replica)."""
    async with db.read() as conn:
        role = await database_role(conn)
        exists = (await conn.execute(text("SELECT to_regclass('alembic_version')"))).scalar()
        if exists is None:
            return None, role
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        return {str(row[0]) for row in rows}, role


@router.get("/ready")
async def ready(state: StateDep) -> JSONResponse:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            revisions, role = await _schema_revisions(state.db)
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("readiness: database unreachable (%s)", type(exc).__name__)
        body = {"status": "unavailable", "checks": {"database": "unreachable"}}
        return JSONResponse(body, status_code=503)
    expected = head_revisions()
    if revisions != expected:
        migrations = "not migrated" if revisions is None else "not at head"
        body = {
            "status": "unavailable",
            "checks": {"database": "ok", "migrations": migrations},
            "database_role": role,
            "revisions": sorted(revisions or ()),
            "expected": sorted(expected),
        }
        return JSONResponse(body, status_code=503)
    checks = {"database": "ok", "migrations": "ok"}
    return JSONResponse({"status": "ok", "checks": checks, "database_role": role})
