"""Dependencies through which request code reaches the app's state and the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.core.i18n import Lang, negotiate
from events_api.core.replicas import Reads
from events_api.core.state import STATE_KEY, AppState


def state_of(request: Request) -> AppState:
    """The app's state, for request code that takes no dependencies (plain routes)."""
    return cast(AppState, request.scope["state"][STATE_KEY])


async def get_state(request: Request) -> AppState:
    return state_of(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_connection(state: StateDep) -> AsyncIterator[AsyncConnection]:
    """One pooled connection per request, for its reads, opened and released here only.

    Writes never happen here: events are written by the group-commit writer, in transactions of
    its own, and a request is answered only after its transaction committed.
    """
    async with state.db.read() as conn:
        yield conn


Connection = Annotated[AsyncConnection, Depends(get_connection)]


async def get_reads(state: StateDep) -> Reads:
    """Where a request's reads go: a fresh read replica, else the primary (core/replicas.py)."""
    return Reads(state.db, state.replicas)


ReadsDep = Annotated[Reads, Depends(get_reads)]


async def get_lang(request: Request) -> Lang:
    """The language of the answer (its names, as of its error texts): from Accept-Language."""
    return negotiate(request.headers.get("accept-language"))


LangDep = Annotated[Lang, Depends(get_lang)]
