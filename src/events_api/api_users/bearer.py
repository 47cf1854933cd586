"""Bearer tokens on every API route: checked from memory, dropped on every change.

Tokens are issued by POST /users/actions/login (logins/) and stored as SHA-256 digests only.
Each process remembers the tokens it has accepted with their expiry (`AcceptedBearerTokens`, in
the app's state), so a valid token is checked without a database round trip; every change that
can end tokens (an API user revoked or rotated, an application revoked) is announced on commit
(core/notify.py) and drops that memory in every process. Expiry is checked on every request.
"""

from __future__ import annotations

from datetime import UTC, datetime

from events_api.api_users import repository
from events_api.api_users.service import CHANNEL as USERS_CHANNEL
from events_api.api_users.service import digest
from events_api.core.db import Database
from events_api.core.notify import ChangeListener, NotifiedCache

CHANNEL = "events_api_logins"
MAX_REMEMBERED = 10_000


class AcceptedBearerTokens(NotifiedCache[bytes, tuple[str, datetime]]):
    """Digests of bearer tokens accepted since the last change, with their owner and end.

    Dropped on a change to external applications (this channel) and to API users (theirs).
    """

    def __init__(self, listener: ChangeListener) -> None:
        super().__init__(listener, CHANNEL, MAX_REMEMBERED)
        listener.subscribe(USERS_CHANNEL, self.clear)


async def verify_bearer(db: Database, accepted: AcceptedBearerTokens, token: str) -> str | None:
    """The login a valid bearer token belongs to, or None (unknown, expired, revoked). A
    connection is borrowed only for a token this process does not remember."""
    offered = digest(token)
    now = datetime.now(UTC)
    known = accepted.get(offered)
    if known is not None:
        return known[0] if known[1] > now else None
    since = accepted.generation
    async with db.read() as conn:
        owner = await repository.token_owner(conn, offered)
    if owner is None:
        return None
    accepted.put(offered, owner, since)
    return owner[0]
