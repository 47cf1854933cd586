"""The ceiling for anything built on FastAPI: bare routes at the API's URLs, no database.

The benchmark suite serves this app with the same uvicorn settings and workers as the server
(`uvicorn bench.bare_app:app`) and compares the server's W2/W5 with it. Each route returns the
same JSON the server answers for a stored event (a fixed one), built the plain FastAPI way: a
response model and a dict.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

PREFIX = "/rest-api/enterprise-interface/v1.0"

EVENT: dict[str, Any] = {
    "event_id": "01a219fdb242ef83d5cfe9963e",
    "event_type_id": "8bed991c68a470e7aaeffbf048",
    "customer_id": "85bc5819e09dab95437552ce79",
    "external_id": "aaabbbccc",
    "data": None,
    "created_at": "2026-11-26 22:33:06",
    "secondary_external_id": None,
    "state": 1,
    "property_records": None,
}
RECORDS: list[dict[str, Any]] = [
    {
        "property_record_id": f"{name}:01a219fdb242ef83d5cfe9963e",
        "property_id": name,
        "property_name": name.replace("_", " ").capitalize(),
        "property_value": value,
        "last_change": "2026-11-26 22:33:06",
    }
    for name, value in (("has_purchase", "true"), ("amount", "149.90"), ("note", "hello"))
]


class Envelope(BaseModel):
    data: dict[str, Any]


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get(PREFIX + "/events/{event_id}")
async def get_event(event_id: str) -> Envelope:
    return Envelope(data={**EVENT, "event_id": event_id})


@app.get(PREFIX + "/events/{event_id}/property-records")
async def property_records(event_id: str) -> Envelope:  # noqa: ARG001 (same URL as the API)
    return Envelope(data={"property_records": RECORDS, "total_items": len(RECORDS)})
