"""SQL for the customer directory. Statements only; callers own the transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.models import customer_identifiers as identifiers
from events_api.models import customers


async def replace_customers(
    conn: AsyncConnection, customer_ids: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """These customers are in the directory, and their identifiers become exactly `rows`."""
    if customer_ids:
        await conn.execute(
            pg_insert(customers).on_conflict_do_nothing(),
            [{"customer_id": customer_id} for customer_id in customer_ids],
        )
        await conn.execute(delete(identifiers).where(identifiers.c.customer_id.in_(customer_ids)))
    if rows:
        await conn.execute(insert(identifiers), list(rows))


async def customers_with(
    conn: AsyncConnection, identifier_type: str, customer_source_id: str, value: str
) -> list[str]:
    """Up to two customers with this identifier (two are enough to call it ambiguous)."""
    stmt = (
        select(identifiers.c.customer_id)
        .where(
            identifiers.c.identifier_type == identifier_type,
            identifiers.c.customer_source_id == customer_source_id,
            identifiers.c.value == value,
        )
        .limit(2)
    )
    return list((await conn.execute(stmt)).scalars())


async def known_customers(conn: AsyncConnection, customer_ids: Collection[str]) -> set[str]:
    """Which of these customers the directory holds."""
    stmt = select(customers.c.customer_id).where(customers.c.customer_id.in_(customer_ids))
    return set((await conn.execute(stmt)).scalars())


async def has_customers(conn: AsyncConnection) -> bool:
    """Whether the directory holds any customer."""
    return bool((await conn.execute(select(exists().select_from(customers)))).scalar())
