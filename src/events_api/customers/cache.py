"""Which customers the customer directory holds, as request code asks it: cached per process.

With CHECK_CUSTOMER_IDS on (the default) and a directory loaded, that is, holding at least one
customer, an event must name one of its customers. POST /events is the hot path, so each app
keeps the answers it has read (a customer is in the directory or not; whether the directory is
empty) and drops them all when `customers load` announces a change (core/notify.py). A known
answer costs no database work; with no directory, the one answer "empty" serves every request.
While the change listener is down, every question reads the database.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager, nullcontext

from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.core.db import Database
from events_api.core.notify import ChangeListener, NotifiedCache
from events_api.customers import repository

CHANNEL = "events_api_customers"
MAX_CUSTOMERS = 50_000  # answers kept per process (about 10 MB); then it starts over


class CustomerDirectory(NotifiedCache[str, bool]):
    def __init__(self, listener: ChangeListener, enabled: bool) -> None:
        super().__init__(listener, CHANNEL, MAX_CUSTOMERS)
        self.enabled = enabled  # CHECK_CUSTOMER_IDS
        self._loaded: bool | None = None  # whether the directory holds a customer; None: unknown

    def clear(self) -> None:
        super().clear()
        self._loaded = None

    async def unknown(
        self, db: Database, customer_ids: Collection[str], conn: AsyncConnection | None = None
    ) -> set[str]:
        """Those of these customers an event may not name: none while the check is off or no
        directory is loaded, else those the directory lacks. Reads through `conn` when given,
        else borrows a connection, and only for answers not kept already."""
        if not self.enabled or not customer_ids:
            return set()
        live = self._listener.live
        if live and self._loaded is False:
            return set()
        answers = {customer_id: self.get(customer_id) for customer_id in customer_ids}
        asking = {customer_id for customer_id, known in answers.items() if known is None}
        loaded = self._loaded if live else None
        found: set[str] = set()
        since = self.generation
        if asking or loaded is None:
            source: AbstractAsyncContextManager[AsyncConnection] = (
                db.read() if conn is None else nullcontext(conn)
            )
            async with source as reading:
                if loaded is None:
                    loaded = await repository.has_customers(reading)
                if loaded and asking:
                    found = await repository.known_customers(reading, asking)
        if self._listener.live and since == self.generation:
            self._loaded = loaded
        if not loaded:
            return set()
        for customer_id in asking:
            answers[customer_id] = customer_id in found
            self.put(customer_id, customer_id in found, since)
        return {customer_id for customer_id, known in answers.items() if not known}
