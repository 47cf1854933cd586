"""A small bounded HTTP load generator for the reliability tests (loopback only)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from events_api.core.settings import API_PREFIX

PURCHASE = "8bed991c68a470e7aaeffbf048"


@dataclass
class Result:
    key: str
    status: int  # 0: no HTTP answer at all
    started: float
    elapsed: float
    event_id: str | None = None
    retry_after: str | None = None
    exception: str | None = None
    error: str | None = None


@dataclass
class Load:
    results: list[Result] = field(default_factory=list)

    def by_status(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for result in self.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts

    def created(self) -> dict[str, str]:
        """key -> event_id of every 201."""
        return {r.key: r.event_id for r in self.results if r.status == 201 and r.event_id}


def purchase_body(key: str) -> dict[str, Any]:
    """An event with three property records, its external_id the key."""
    return {
        "event": {"event_type_id": PURCHASE, "customer_id": "load", "external_id": key},
        "property_records": [
            {"property_id": "has_purchase", "property_value": "true"},
            {"property_id": "items_count", "property_value": len(key)},
            {"property_id": "note", "property_value": key},
        ],
    }


async def post_event(
    client: httpx.AsyncClient, key: str, body: dict[str, Any] | None = None
) -> Result:
    started = time.monotonic()
    try:
        response = await client.post(f"{API_PREFIX}/events", json=body or purchase_body(key))
    except httpx.HTTPError as exc:
        return Result(key, 0, started, time.monotonic() - started, error=type(exc).__name__)
    result = Result(key, response.status_code, started, time.monotonic() - started)
    result.retry_after = response.headers.get("retry-after")
    payload = response.json()
    if response.status_code == 201:
        result.event_id = payload["data"]["event_id"]
    else:
        result.exception = payload["error"]["exception"]
    return result


async def run_load(
    client: httpx.AsyncClient,
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    prefix: str,
    until: Callable[[], bool] | None = None,
    into: Load | None = None,
) -> Load:
    """`concurrency` clients POSTing unique events for at most `seconds` and `max_requests`
    (or until `until()` says stop); results go to `into` as they come, when given."""
    load = into if into is not None else Load()
    deadline = time.monotonic() + seconds
    counter = iter(range(max_requests))

    async def worker() -> None:
        while time.monotonic() < deadline and not (until and until()):
            number = next(counter, None)
            if number is None:
                return
            load.results.append(await post_event(client, f"{prefix}-{number}"))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return load
