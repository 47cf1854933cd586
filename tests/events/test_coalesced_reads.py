"""GET /events/{event_id} and its /property-records under concurrency: reads asked together
share queries (events/lookups.py), and each request still gets exactly its own answer or
error."""

from __future__ import annotations

import asyncio

import httpx

from events_api.core.db import create_engine
from events_api.core.settings import API_PREFIX, get_settings
from events_api.events.lookups import EventLookups, RecordPages
from events_api.main import create_app
from tests.events.test_property_records_pages import RECORDS
from tests.fixtures.apps import Served, serving
from tests.fixtures.helpers import basic, create

UNKNOWN = "0123456789abcdef0123456789"


async def test_concurrent_reads_share_queries_and_each_gets_its_own_answer(
    api: httpx.AsyncClient, app: Served
) -> None:
    ids = [await create(api, f"shared-{n}") for n in range(40)]
    alone = {event_id: (await api.get(f"/events/{event_id}")).json() for event_id in ids}
    lookups = app.state.part(EventLookups)
    before = lookups.fetches
    asked = ids + ids[:10] + [UNKNOWN] * 3  # the same id twice, and ids of no event
    answers = await asyncio.gather(*(api.get(f"/events/{event_id}") for event_id in asked))
    queries = lookups.fetches - before
    assert 1 <= queries < len(asked) / 4, queries  # 53 requests, a few queries
    for event_id, response in zip(asked, answers, strict=True):
        if event_id == UNKNOWN:
            assert response.status_code == 404
            assert response.json()["error"]["exception"] == "not_found_exception"
        else:
            assert response.status_code == 200
            assert response.json() == alone[event_id]


async def test_concurrent_record_pages_share_queries_and_each_gets_its_own_page(
    api: httpx.AsyncClient, app: Served
) -> None:
    with_records = [await create(api, f"paged-{n}", records=RECORDS[: n % 6]) for n in range(12)]
    pages = ["", "?count=2", "?count=2&offset=1", "?offset=4", "?count=1&offset=10"]
    asked = [
        f"/events/{event_id}/property-records{page}" for event_id in with_records for page in pages
    ]
    asked += [f"/events/{UNKNOWN}/property-records", f"/events/{UNKNOWN}/property-records?count=3"]
    alone = {url: (await api.get(url)) for url in asked}
    lookups = app.state.part(RecordPages)
    before = lookups.fetches
    answers = await asyncio.gather(*(api.get(url) for url in asked))
    assert 1 <= lookups.fetches - before < len(asked) / 4
    for url, response in zip(asked, answers, strict=True):
        assert (response.status_code, response.json()) == (
            alone[url].status_code,
            alone[url].json(),
        ), url
    statuses = [response.status_code for response in answers]
    assert statuses.count(404) == 2
    assert statuses.count(200) == len(asked) - 2
    first = answers[pages.index("?count=2&offset=1") + len(pages)].json()["data"]  # 1 record
    assert first == {"property_records": [], "total_items": 1}


async def test_a_client_that_goes_away_does_not_disturb_the_others(
    api: httpx.AsyncClient, app: Served
) -> None:
    ids = [await create(api, f"gone-{n}") for n in range(20)]
    readers = [asyncio.create_task(api.get(f"/events/{event_id}")) for event_id in ids]
    await asyncio.sleep(0)  # every request is waiting for its read now
    for reader in readers[::2]:
        reader.cancel()
    kept = await asyncio.gather(*readers[1::2])
    assert [r.json()["data"]["event_id"] for r in kept] == ids[1::2]
    assert (await api.get(f"/events/{ids[0]}")).status_code == 200  # and later reads still work
    assert app.state.part(EventLookups)._task is None  # nothing left running


async def test_every_request_of_a_failed_read_is_503(credentials: tuple[str, str]) -> None:
    settings = get_settings().model_copy(update={"db_connect_timeout": 1, "db_pool_timeout": 1})
    dead = create_engine(settings, "postgresql+psycopg://postgres@127.0.0.1:9/none")
    try:
        async with serving(create_app(settings, dead)) as served:
            transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
            headers = {**basic(*credentials), "Accept-Language": "en"}
            async with httpx.AsyncClient(
                transport=transport, base_url=f"http://t{API_PREFIX}", headers=headers
            ) as client:
                answers = await asyncio.gather(
                    *(client.get(f"/events/{n:026x}") for n in range(12))
                )
    finally:
        await dead.dispose()
    for response in answers:
        assert response.status_code == 503
        assert response.json()["error"]["exception"] == "service_unavailable_exception"
        assert "retry-after" in response.headers
