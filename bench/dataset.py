"""The benchmark data set: catalog, id formats and database helpers shared by the scripts.

The formats are chosen so that every load tool can produce valid values on its own:
event type ids are a fixed 24-hex prefix plus two decimal digits (`10`..`29`) and customer ids
a 20-hex prefix plus six digits (`100000`..`199999`), so pgbench builds them by concatenation
(`:type_prefix::text || :t::text`) and wrk's Lua by string concatenation, without lookups.
bench/wrk/*.lua and bench/pgbench/*.sql rely on these values: change them together.
"""

from __future__ import annotations

from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

GENERATOR_VERSION = "1"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/events_bench"

TYPE_PREFIX = "b3c4e0a1f2d39a8c7e6b5a40"  # + "10".."29"
TYPE_FIRST = 10
EVENT_TYPES = 20
CUSTOMER_PREFIX = "85bc5819e09dab954375"  # + "100000".."199999"
CUSTOMER_FIRST = 100_000
CUSTOMERS = 100_000
GROUP_ID_PREFIX = "b3c4e0a1f2d39a8c7e6b5a3f"  # + "01".."04"
GROUPS = 4

# (property_id, name, data_type): every event type has these three, in this order.
PROPERTIES = (
    ("bench_note", "Note", "string"),
    ("bench_quantity", "Quantity", "integer"),
    ("bench_flag", "Flag", "boolean"),
)

# Extra tables the generator adds to the benchmark database (never in the app's schema).
META_TABLE = "bench_meta"  # key/value: events, seed, max_event_id, ...
SAMPLE_TABLE = "bench_sample_ids"  # n (1..K) -> event_id: random existing events for W2/W5


def type_id(k: int) -> str:
    """The k-th event type (0-based)."""
    return f"{TYPE_PREFIX}{TYPE_FIRST + k}"


def type_ids(count: int = EVENT_TYPES) -> list[str]:
    return [type_id(k) for k in range(count)]


def customer_id(k: int) -> str:
    """The k-th customer (0-based)."""
    return f"{CUSTOMER_PREFIX}{CUSTOMER_FIRST + k}"


def catalog(types: int = EVENT_TYPES) -> dict[str, Any]:
    """The catalog file (as data) the generator loads with events_api.catalog.service."""
    return {
        "event_groups": [
            {
                "event_group_id": f"{GROUP_ID_PREFIX}{g + 1:02d}",
                "name": f"Benchmark group {g + 1}",
                "text_id": f"bench_group_{g + 1}",
            }
            for g in range(GROUPS)
        ],
        "event_properties": [
            {"property_id": pid, "name": name, "data_type": data_type}
            for pid, name, data_type in PROPERTIES
        ],
        "event_types": [
            {
                "event_type_id": type_id(k),
                "event_group": f"bench_group_{k % GROUPS + 1}",
                "name": f"Benchmark type {k + 1}",
                "text_id": f"bench_type_{k + 1}",
                "icon_name": "bolt",
                "event_properties": [pid for pid, _, _ in PROPERTIES],
            }
            for k in range(types)
        ],
    }


# --- database URLs -------------------------------------------------------------------------


def libpq_url(url: str) -> str:
    """A libpq/psycopg URL (postgresql://) from any SQLAlchemy-style PostgreSQL URL."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy with psycopg 3 (what the API's DATABASE_URL accepts)."""
    return "postgresql+psycopg://" + libpq_url(url).removeprefix("postgresql://")


def conninfo(url: str, **changes: Any) -> str:
    """A libpq connection string for `url`, with some keywords changed (e.g. dbname)."""
    params = conninfo_to_dict(libpq_url(url))
    params.update(changes)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def with_database(url: str, name: str) -> str:
    """The same URL (any form `events-api` accepts) naming another database."""
    from sqlalchemy.engine import make_url

    return make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)


def database_name(url: str) -> str:
    name = conninfo_to_dict(libpq_url(url)).get("dbname")
    if not name:
        raise ValueError(f"the database URL names no database: {url}")
    return str(name)


def admin_conninfo(url: str) -> str:
    """Connection string of the server's maintenance database (to create/drop databases)."""
    return conninfo(url, dbname="postgres")
