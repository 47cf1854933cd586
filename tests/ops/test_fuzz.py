"""Property-based fuzzing of every endpoint, and a corpus of hostile values in every parameter.

- schemathesis drives the real app in process (ASGI, `schemathesis.openapi.from_asgi`) on the
  test database, from the app's own OpenAPI document, through all its phases (examples,
  coverage, fuzzing, stateful) with every one of its checks on.
- hypothesis writes POST /events bodies that look like real ones: valid, subtly broken, hostile.
- a fixed corpus (SQL injection, NUL bytes, invalid UTF-8, huge and odd values) goes into every
  query parameter, the path and every body field.

Wherever they go: no 5xx, responses match the documented schemas and statuses, every error is
CareCloud's error body, and nothing but a 201 writes anything.

Bounded for CI: FUZZ_EXAMPLES (default 100) examples per operation and phase; a run takes well
under a minute on two cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Coroutine, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.core.errors import KNOWN_REASONS
from events_api.core.settings import API_PREFIX, get_settings
from events_api.main import create_app
from tests.fixtures.apps import serving
from tests.fixtures.figures import record
from tests.fixtures.helpers import PURCHASE, REGISTRATION, basic

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
ERROR_KEYS = {"type", "exception", "title", "detail", "error_data"}


def assert_contract(response: httpx.Response | Any, *allowed: int) -> Any:
    """No 5xx; JSON; an error is CareCloud's error body with well-formed invalid_params."""
    assert response.status_code < 500, response.text
    assert response.status_code in allowed, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    body = response.json()
    if response.status_code >= 400:
        assert list(body) == ["error"], body
        error = body["error"]
        assert set(error) == ERROR_KEYS, error
        assert error["type"] == "about:blank"
        assert error["exception"].endswith("_exception")
        assert error["title"]
        assert error["detail"]
        if response.status_code == 400:
            params = error["error_data"]["invalid_params"]
            assert params
            for param in params:
                assert set(param) == {"name", "reason", "value", "message"}, param
                assert param["reason"] in KNOWN_REASONS, param
                assert isinstance(param["value"], str)
                assert param["message"]
    else:
        assert list(body) == ["data"], body
    return body


def test_reason_codes_list_is_not_empty() -> None:
    assert "relation_already_exists" in KNOWN_REASONS


# -- schemathesis ------------------------------------------------------------------------------


def no_throttle_app() -> Any:
    """A separate app (its own engine and event loop) without the failed-login limit, which
    would otherwise answer the fuzzer's deliberate bad logins with 429 (tested elsewhere)."""
    settings = get_settings().model_copy(
        update={"auth_failures_per_address": 0, "auth_failures_per_login": 0}
    )
    return create_app(settings)


def schemathesis_config(login: str, token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "auth": {"basic": {"username": login, "password": token}},
            "headers": {"Accept-Language": "en"},
            "seed": 20261126,
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "allow-x00": True,
                # Unknown query parameters are ignored on purpose (README), not refused.
                "allow-extra-parameters": False,
            },
            "checks": {
                "enabled": True,
                # A schema-valid body can still name an event type or property that is not in
                # the catalog, or a sort_field outside the allow-list: 400 is a valid answer.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "404", "429"]
                },
            },
            # With error_processing 2 a batch's invalid items are reported in a 200 (README,
            # POST /events/batch), not refused: an item breaking the schema is answered so.
            "operations": [
                {
                    "include-operation-id": "postBulkEvents",
                    "checks": {
                        "negative_data_rejection": {
                            "expected-statuses": ["200", "400", "401", "413", "415", "429"]
                        }
                    },
                }
            ],
        }
    )


@pytest.mark.usefixtures("catalog", "database_url")
def test_schemathesis_all_phases_all_checks(credentials: tuple[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", no_throttle_app(), config=schemathesis_config(*credentials)
    )
    try:
        outcome = _run_engine(schema)
    finally:
        asgi.shutdown_lifespans()  # the app's engine and background tasks end with the test
    requests, scenarios, failures, errors, statuses = outcome
    record(
        "schemathesis",
        requests=requests,
        scenarios=scenarios,
        failures=len(failures),
        server_errors=sum(n for code, n in statuses.items() if code >= 500),
        statuses=statuses,
    )
    assert not errors, errors
    assert not failures, "\n".join(sorted(set(failures))[:20])
    assert requests > 100, "the fuzzer hardly ran"
    assert not any(code >= 500 for code in statuses), statuses


def _run_engine(schema: Any) -> tuple[int, int, list[str], list[str], dict[int, int]]:
    requests = 0
    scenarios = 0
    failures: list[str] = []
    errors: list[str] = []
    statuses: dict[int, int] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            for interaction in event.recorder.interactions.values():
                requests += 1
                if interaction.response is not None:
                    code = interaction.response.status_code
                    statuses[code] = statuses.get(code, 0) + 1
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        case = event.recorder.cases[case_id].value
                        failures.append(
                            f"{event.recorder.label} [{check.name}] "
                            f"{check.failure_info.failure.title}: query={case.query!r} "
                            f"path={case.path_parameters!r} body={str(case.body)[:300]}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(f"{type(event).__name__}: {getattr(event, 'value', event)!r}")
    return requests, scenarios, failures, errors, statuses


# -- hypothesis: POST /events bodies ----------------------------------------------------------

HOSTILE = [
    "' OR '1'='1",
    "'; DROP TABLE events; --",
    '" OR ""="',
    "1; SELECT pg_sleep(10)",
    "$$; COPY events TO '/tmp/x'; $$",
    "\\x00",
    "\x00",
    "a\x00b",
    "\ud800",
    "\u202e\u0000",
    "../../etc/passwd",
    "%00",
    "%s%s%s%n",
    "{{7*7}}",
    "${jndi:ldap://127.0.0.1/a}",
    "<script>alert(1)</script>",
    "\r\nSet-Cookie: x=1",
    "😀" * 100,
    "x" * 256,
    " ",
    "",
]
CATALOG_PROPERTIES = [
    "has_purchase",
    "amount",
    "items_count",
    "purchase_date",
    "note",
    "tier",
    "channels",
]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children)
    ),
    max_leaves=12,
)
texts = st.text(max_size=40) | st.sampled_from(HOSTILE)
ids = st.sampled_from([PURCHASE, REGISTRATION]) | texts
property_values = (
    json_values
    | st.sampled_from(["true", "false", "42", "149.90", "2024-02-29", "1", "web", "nope"])
    | st.lists(st.sampled_from(["web", "pos", "app", "1", "x"]), max_size=4)
    | st.just([{"id": "1", "name": "Gold"}])
)
records = st.fixed_dictionaries(
    {},
    optional={
        "property_id": st.sampled_from(CATALOG_PROPERTIES) | texts | json_scalars,
        "property_value": property_values,
    },
)
events_st = st.fixed_dictionaries(
    {},
    optional={
        "event_type_id": ids | json_scalars,
        "customer_id": texts | json_scalars,
        "external_id": texts | st.integers() | st.floats() | json_scalars,
        "secondary_external_id": texts | st.integers() | st.none(),
        "created_at": st.sampled_from(
            ["2021-04-29 14:51:43", "2021-04-29T14:51:43", "2021-02-30 00:00:00", "9999-12-31"]
        )
        | texts
        | json_scalars,
        "data": json_values | st.lists(st.text(max_size=10), max_size=4) | texts,
        "state": json_scalars,
        "event_id": json_scalars,
    },
)
wild_bodies = st.fixed_dictionaries(
    {},
    optional={
        "event": events_st | json_values,
        "property_records": st.lists(records, max_size=8) | json_values,
        "unknown": json_values,
    },
)
safe_text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
).filter(str.strip)
VALID_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "has_purchase": st.sampled_from([True, False, "true", "false", None]),
    "amount": st.floats(allow_nan=False, allow_infinity=False, width=32) | st.just("149.90"),
    "items_count": st.integers(-(2**31), 2**31) | st.just("42"),
    "purchase_date": st.dates().map(lambda d: d.isoformat()),
    "note": safe_text,
    "tier": st.sampled_from(["1", "2", [{"id": "1", "name": "Gold"}]]),
    "channels": st.lists(st.sampled_from(["web", "pos", "app"]), unique=True, max_size=3),
}


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Bodies that should be accepted (201), or refused only as a duplicate."""
    names = draw(st.lists(st.sampled_from(CATALOG_PROPERTIES), unique=True, max_size=7))
    event: dict[str, Any] = {
        "event_type_id": PURCHASE,
        "customer_id": draw(safe_text),
        "external_id": draw(safe_text | st.integers(0, 10**15)),
    }
    if draw(st.booleans()):
        event["data"] = draw(
            st.dictionaries(
                safe_text, json_values.filter(lambda v: "\x00" not in json.dumps(v)), max_size=4
            )
            | st.lists(safe_text, max_size=3)
            | safe_text
        )
    if draw(st.booleans()):
        event["created_at"] = draw(st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")))
    return {
        "event": event,
        "property_records": [
            {"property_id": name, "property_value": draw(VALID_VALUES[name])} for name in names
        ],
    }


@st.composite
def broken_bodies(draw: st.DrawFn) -> Any:
    """A valid body with one thing broken or hostile."""
    body: Any = draw(valid_bodies())
    where = draw(st.sampled_from(["event", "record", "records", "root"]))
    key = draw(
        st.sampled_from(["event_type_id", "customer_id", "external_id", "created_at", "data"])
    )
    value = draw(json_values | st.sampled_from(HOSTILE))
    if where == "event":
        body["event"][key] = value
    elif where == "record":
        body["property_records"].append(
            {"property_id": draw(st.sampled_from(CATALOG_PROPERTIES)), "property_value": value}
        )
    elif where == "records":
        body["property_records"] = value
    else:
        body = {"event": value} if draw(st.booleans()) else value
    return body


bodies = valid_bodies() | broken_bodies() | wild_bodies | json_values


class ThreadedApp:
    """The app, with its lifespan, on an event loop of its own thread; synchronous HTTP calls.

    hypothesis tests are synchronous, and the session's app lives on pytest's event loop.
    """

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.lifespan = serving(app)
        served = self._run(self.lifespan.__aenter__())
        transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def _run(self, work: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=120)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self._run(self.client.request(method, url, **kwargs))
        return response

    def close(self) -> None:
        self._run(self.client.aclose())
        self._run(self.lifespan.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def sync_client(database_url: str) -> Iterator[ThreadedApp]:
    client = ThreadedApp(no_throttle_app())
    yield client
    client.close()


def _post_bodies(sync_client: ThreadedApp, headers: dict[str, str]) -> dict[str, int]:
    seen: dict[str, int] = {"requests": 0, "201": 0, "400": 0, "duplicates": 0}

    @settings(
        max_examples=EXAMPLES * 5,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=bodies)
    def post(body: Any) -> None:
        try:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
        except ValueError:  # NaN and friends: send them as Python writes them
            content = json.dumps(body).encode()
        response = sync_client.request(
            "POST",
            f"{API_PREFIX}/events",
            content=content,
            headers={**headers, "Content-Type": "application/json"},
        )
        created = assert_contract(response, 201, 400)
        seen["requests"] += 1
        seen[str(response.status_code)] += 1
        if "relation_already_exists" in response.text:
            seen["duplicates"] += 1
        if response.status_code == 201:
            event_id = created["data"]["event_id"]
            stored = sync_client.request("GET", f"{API_PREFIX}/events/{event_id}", headers=headers)
            assert stored.status_code == 200
            assert stored.json()["data"]["data"] == body["event"].get("data")

    post()
    return seen


@pytest.mark.usefixtures("catalog")
def test_hypothesis_post_bodies(sync_client: ThreadedApp, credentials: tuple[str, str]) -> None:
    seen = _post_bodies(sync_client, {**basic(*credentials), "Accept-Language": "en"})
    record("hypothesis_post_bodies", **seen)
    assert seen["requests"] >= EXAMPLES
    assert seen["400"] > 0
    assert seen["201"] > EXAMPLES // 4, seen  # the valid share really is accepted


# -- hostile values in every parameter -------------------------------------------------------

CORPUS = [
    *HOSTILE,
    "%ff%fe",
    "%ED%A0%80",
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "created_at; DROP TABLE events",
    "event_id DESC, (SELECT 1)",
    "ASC NULLS FIRST",
    "2021-04-29 14:51:43' OR '1'='1",
    "true' --",
    "x" * 5000,
]
QUERY_PARAMS = [
    "count",
    "offset",
    "sort_field",
    "sort_direction",
    "event_type_id",
    "event_type_ids",
    "event_type_ids[]",
    "event_type_ids[0]",
    "customer_id",
    "external_id",
    "time_from",
    "time_to",
    "include_property_records",
]
BODY_FIELDS = [
    "event_type_id",
    "customer_id",
    "external_id",
    "secondary_external_id",
    "created_at",
    "data",
    "property_id",
    "property_value",
]


def _encoded(value: str) -> str:
    """Percent-encode, keeping sequences the corpus spells as %XX (raw invalid UTF-8)."""
    if value in ("%ff%fe", "%ED%A0%80", "%00"):
        return value
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


async def _row_counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM events), "
                    "(SELECT count(*) FROM event_property_records), "
                    "(SELECT count(*) FROM api_users)"
                )
            )
        ).one()
    return (row[0], row[1], row[2])


async def test_hostile_values_in_every_parameter(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    seed = await api.post(
        "/events",
        json={
            "event": {"event_type_id": PURCHASE, "customer_id": "c", "external_id": "seed"},
            "property_records": [{"property_id": "note", "property_value": "n"}],
        },
    )
    assert seed.status_code == 201
    event_id = seed.json()["data"]["event_id"]
    before = await _row_counts(engine)
    tried = 0
    for value in CORPUS:
        for name in QUERY_PARAMS:
            response = await api.get(f"/events?{quote(name)}={_encoded(value)}")
            assert_contract(response, 200, 400)
            tried += 1
        for path in (f"/events/{_encoded(value)}", f"/events/{_encoded(value)}/property-records"):
            if not value or value in (".", ".."):
                continue
            response = await api.get(path)
            assert_contract(response, 200, 404)
            tried += 1
        for field in BODY_FIELDS:
            event: dict[str, Any] = {
                "event_type_id": PURCHASE,
                "customer_id": "c",
                "external_id": f"hostile-{tried}",
            }
            records: list[dict[str, Any]] = [{"property_id": "note", "property_value": "n"}]
            if field == "property_id":
                records = [{"property_id": value, "property_value": "n"}]
            elif field == "property_value":
                records = [{"property_id": "note", "property_value": value}]
            else:
                event[field] = value
            content = json.dumps({"event": event, "property_records": records})
            response = await api.post(
                "/events", content=content.encode(), headers={"Content-Type": "application/json"}
            )
            assert_contract(response, 201, 400)
            tried += 1
            if response.status_code == 201:  # stored exactly as sent, never interpreted
                created = response.json()["data"]["event_id"]
                stored = (await api.get(f"/events/{created}")).json()["data"]
                if field in ("customer_id", "secondary_external_id", "data"):
                    assert stored[field] == value
                await api.get(f"/events/{created}/property-records")
    # Header injection: nothing reflected, nothing broken.
    for value in ("\r\nX-Injected: 1", "cs\x00", "x" * 4000):
        response = await api.get("/events", headers={"Accept-Language": value.replace("\r\n", " ")})
        assert_contract(response, 200)
        assert "x-injected" not in response.headers
        tried += 1
    after = await _row_counts(engine)
    assert after[2] == before[2]  # api_users untouched
    assert (await api.get(f"/events/{event_id}")).status_code == 200  # the table is still there
    record("hostile_corpus", requests=tried, values=len(CORPUS), server_errors=0)
