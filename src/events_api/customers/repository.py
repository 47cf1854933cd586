"""SQL for the customer directory. Statements only; callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.models import customer_identifiers as identifiers


async def replace_customers(
    conn: AsyncConnection, customer_ids: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """The identifiers of these customers become exactly `rows`."""
    if customer_ids:
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
