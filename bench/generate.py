"""Fill a benchmark database fast: migrations, a catalog, then events and records by COPY.

    python bench/generate.py --events 1000000 [--database-url postgresql://.../events_bench]

The database is dropped and created again (when it does not exist yet, has no tables, or holds
a data set this script made; `--force` otherwise). Then:

1. the Alembic migrations (`events_api.core.migrate.upgrade`) and a catalog of 20 event types
   with 3 properties each (string, integer, boolean), through `events_api.catalog.service`;
2. N events over 100,000 customers, created_at spread evenly (with jitter) over two years, in
   time order like an append-only log, 3 property records each. Ids are 26 lowercase hex
   digits like `events_api.core.ids.new_id`: 12 of milliseconds (of created_at, plus random
   milliseconds within its second) and 14 random ones. The rows go in with COPY ... FREEZE
   while the indexes and keys are dropped; they are rebuilt from their own definitions
   afterwards (whatever the migrations made), and the statement triggers stay on, so the
   per-type counters the migrations maintain are kept by the COPY itself;
3. `VACUUM (ANALYZE)` (COPY FREEZE has already set the visibility map for index-only scans);
4. `bench_sample_ids` (K random existing event ids, for W2/W5) and `bench_meta` (what was
   generated; bench/run.py reads it to decide whether to generate again).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402

YEAR_SECONDS = 365.25 * 86400
EVENT_COLUMNS = (
    "event_id, event_type_id, customer_id, external_id, secondary_external_id, data, "
    "created_at, state"
)
RECORD_COLUMNS = "event_id, property_id, position, property_value, last_change"
DATA_TABLES = ("events", "event_property_records")
CHANNELS = ("web", "pos", "app", "email")


@dataclass(frozen=True)
class Options:
    database_url: str
    events: int
    customers: int = dataset.CUSTOMERS
    types: int = dataset.EVENT_TYPES
    seed: int = 42
    years: float = 2.0
    sample_ids: int = 10_000
    chunk: int = 100_000
    force: bool = False
    quiet: bool = False


def log(options: Options, message: str) -> None:
    if not options.quiet:
        print(message, flush=True)


# --- the database --------------------------------------------------------------------------


def recreate_database(options: Options) -> None:
    name = dataset.database_name(options.database_url)
    with psycopg.connect(dataset.admin_conninfo(options.database_url), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not options.force and not _replaceable(options.database_url):
            raise SystemExit(
                f"database {name!r} has tables and was not made by bench/generate.py; "
                "use --force to drop it"
            )
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _replaceable(url: str) -> bool:
    """True for a database made by this script, or one without any table."""
    with psycopg.connect(dataset.conninfo(url)) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (dataset.META_TABLE,)).fetchone()
        if row and row[0]:
            return True
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
        return bool(row and row[0] == 0)


def read_meta(url: str) -> dict[str, str] | None:
    """What bench/generate.py stored about the data set; None when there is none."""
    try:
        with psycopg.connect(dataset.conninfo(url), connect_timeout=5) as conn:
            row = conn.execute("SELECT to_regclass(%s)", (dataset.META_TABLE,)).fetchone()
            if not row or not row[0]:
                return None
            rows = conn.execute(
                sql.SQL("SELECT key, value FROM {}").format(sql.Identifier(dataset.META_TABLE))
            ).fetchall()
    except psycopg.OperationalError:
        return None
    return {str(k): str(v) for k, v in rows}


def migrate_and_load_catalog(options: Options) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from events_api.catalog.service import load, parse
    from events_api.core.migrate import upgrade

    url = dataset.sqlalchemy_url(options.database_url)
    upgrade(url)

    async def load_catalog() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await load(conn, parse(dataset.catalog(options.types)), ZoneInfo("UTC"))
        finally:
            await engine.dispose()

    asyncio.run(load_catalog())


@dataclass(frozen=True)
class SavedDefinitions:
    """Keys and indexes of the data tables, dropped for the load and rebuilt after it."""

    indexes: list[tuple[str, str]]  # (name, CREATE INDEX ...)
    keys: list[tuple[str, str, str]]  # (table, name, definition): primary/unique/exclusion
    foreign_keys: list[tuple[str, str, str]]


def drop_keys_and_indexes(conn: psycopg.Connection) -> SavedDefinitions:
    tables = [f"public.{t}" for t in DATA_TABLES]
    constraints = conn.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
        FROM pg_constraint c
        WHERE c.contype IN ('p', 'u', 'x', 'f')
          AND (c.conrelid = ANY(%(t)s::regclass[])
               OR (c.contype = 'f' AND c.confrelid = ANY(%(t)s::regclass[])))
        ORDER BY c.contype, c.conname
        """,
        {"t": tables},
    ).fetchall()
    indexes = conn.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%(t)s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                          WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                            AND c.contype IN ('p', 'u', 'x'))
        ORDER BY 1
        """,
        {"t": tables},
    ).fetchall()
    saved = SavedDefinitions(
        indexes=[(str(name), str(ddl)) for name, ddl in indexes],
        keys=[(str(t), str(n), str(d)) for t, n, d, kind in constraints if kind != "f"],
        foreign_keys=[(str(t), str(n), str(d)) for t, n, d, kind in constraints if kind == "f"],
    )
    for table, name, _ in saved.foreign_keys + saved.keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.SQL(table), sql.Identifier(name)
            )
        )
    for name, _ in saved.indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))
    return saved


def rebuild_keys_and_indexes(
    conn: psycopg.Connection, saved: SavedDefinitions, options: Options
) -> None:
    keys = [(f"{table} {name}", table, name, ddl) for table, name, ddl in saved.keys]
    for label, table, name, ddl in keys:
        started = time.monotonic()
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.SQL(table), sql.Identifier(name), sql.SQL(ddl)
            )
        )
        conn.commit()
        log(options, f"  key {label}: {time.monotonic() - started:.1f} s")
    for name, ddl in saved.indexes:
        started = time.monotonic()
        conn.execute(ddl)  # from pg_get_indexdef
        conn.commit()
        log(options, f"  index {name}: {time.monotonic() - started:.1f} s")
    for table, name, ddl in saved.foreign_keys:
        started = time.monotonic()
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.SQL(table), sql.Identifier(name), sql.SQL(ddl)
            )
        )
        conn.commit()
        log(options, f"  foreign key {table} {name}: {time.monotonic() - started:.1f} s")


# --- the rows ------------------------------------------------------------------------------


class RowMaker:
    """Events in created_at order, with their records, as COPY text, chunk by chunk."""

    def __init__(self, options: Options, end: int) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.types = dataset.type_ids(options.types)
        self.span = options.years * YEAR_SECONDS
        self.start = end - self.span
        self.step = self.span / max(options.events, 1)
        picks = min(options.sample_ids, options.events)
        self.sample_at = set(self.rng.sample(range(options.events), picks))
        self.sample: list[str] = []
        self._days: dict[int, str] = {}

    def _timestamp(self, seconds: int) -> str:
        day, second = divmod(seconds, 86400)
        text = self._days.get(day)
        if text is None:
            text = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
            self._days[day] = text
        return f"{text} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"

    def chunk(self, first: int, last: int) -> tuple[str, str]:
        rnd = self.rng.random
        bits = self.rng.getrandbits
        types = self.types
        n_types = len(types)
        n_customers = self.options.customers
        customer_prefix = dataset.CUSTOMER_PREFIX
        customer_first = dataset.CUSTOMER_FIRST
        sample_at = self.sample_at
        events: list[str] = []
        records: list[str] = []
        for i in range(first, last):
            seconds = int(self.start + (i + rnd()) * self.step)
            created = self._timestamp(seconds)
            event_id = f"{seconds * 1000 + bits(10) % 1000:012x}{bits(56):014x}"
            if i in sample_at:
                self.sample.append(event_id)
            type_id = types[int(rnd() * n_types)]
            customer = f"{customer_prefix}{customer_first + int(rnd() * n_customers)}"
            value = bits(16)
            events.append(
                f"{event_id}\t{type_id}\t{customer}\t{1_000_000_000 + i}\t\\N\t"
                f'{{"channel": "{CHANNELS[value & 3]}", "value": {value}}}\t{created}\t1\n'
            )
            records.append(
                f'{event_id}\tbench_note\t0\t"note {value >> 4}"\t{created}\n'
                f"{event_id}\tbench_quantity\t1\t{value % 100}\t{created}\n"
                f"{event_id}\tbench_flag\t2\t{'true' if value & 1 else 'false'}\t{created}\n"
            )
        return "".join(events), "".join(records)


def load_rows(conn: psycopg.Connection, options: Options, end: int) -> list[str]:
    """COPY every event and record (one transaction); the sampled event ids."""
    maker = RowMaker(options, end)
    started = time.monotonic()
    reported = started
    with conn.cursor() as cur:
        for first in range(0, options.events, options.chunk):
            last = min(first + options.chunk, options.events)
            event_text, record_text = maker.chunk(first, last)
            with cur.copy(f"COPY events ({EVENT_COLUMNS}) FROM STDIN (FREEZE)") as copy:
                copy.write(event_text)
            with cur.copy(
                f"COPY event_property_records ({RECORD_COLUMNS}) FROM STDIN (FREEZE)"
            ) as copy:
                copy.write(record_text)
            now = time.monotonic()
            if now - reported >= 2 or last == options.events:
                reported = now
                rate = last / max(now - started, 1e-9)
                log(
                    options,
                    f"  {last:,}/{options.events:,} events ({100 * last // options.events}%), "
                    f"{rate:,.0f} events/s",
                )
    random.Random(options.seed + 1).shuffle(maker.sample)
    return maker.sample


def write_bench_tables(conn: psycopg.Connection, sample: list[str], meta: dict[str, str]) -> None:
    sample_table = sql.Identifier(dataset.SAMPLE_TABLE)
    meta_table = sql.Identifier(dataset.META_TABLE)
    conn.execute(
        sql.SQL("CREATE TABLE {} (n integer PRIMARY KEY, event_id varchar(26) NOT NULL)").format(
            sample_table
        )
    )
    with (
        conn.cursor() as cur,
        cur.copy(sql.SQL("COPY {} (n, event_id) FROM STDIN").format(sample_table)) as copy,
    ):
        for n, event_id in enumerate(sample, start=1):
            copy.write_row((n, event_id))
    conn.execute(
        sql.SQL("CREATE TABLE {} (key text PRIMARY KEY, value text NOT NULL)").format(meta_table)
    )
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL("INSERT INTO {} (key, value) VALUES (%s, %s)").format(meta_table),
            sorted(meta.items()),
        )
    conn.commit()


def generate(options: Options) -> dict[str, str]:
    """Make the whole data set; returns what is stored in bench_meta."""
    if options.events < 1:
        raise ValueError("--events must be at least 1")
    began = time.monotonic()
    name = dataset.database_name(options.database_url)
    log(options, f"generating {options.events:,} events into database {name!r}")
    recreate_database(options)
    migrate_and_load_catalog(options)
    log(options, f"  migrations and catalog ({options.types} event types): done")
    end = int(time.time()) - 60  # every generated id sorts before ids made from now on
    timings: dict[str, float] = {}
    with psycopg.connect(dataset.conninfo(options.database_url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        saved = drop_keys_and_indexes(conn)
        conn.execute("TRUNCATE events, event_property_records")
        phase = time.monotonic()
        sample = load_rows(conn, options, end)
        conn.commit()
        timings["copy"] = time.monotonic() - phase
        phase = time.monotonic()
        log(options, "rebuilding keys and indexes")
        rebuild_keys_and_indexes(conn, saved, options)
        timings["indexes"] = time.monotonic() - phase
        row = conn.execute("SELECT max(event_id), min(created_at), max(created_at) FROM events")
        max_id, min_created, max_created = row.fetchone() or (None, None, None)
        meta = {
            "generator_version": dataset.GENERATOR_VERSION,
            "events": str(options.events),
            "customers": str(options.customers),
            "event_types": str(options.types),
            "property_records_per_event": str(len(dataset.PROPERTIES)),
            "seed": str(options.seed),
            "years": str(options.years),
            "sample_ids": str(len(sample)),
            "max_event_id": str(max_id),
            "min_created_at": str(min_created),
            "max_created_at": str(max_created),
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        write_bench_tables(conn, sample, meta)
    phase = time.monotonic()
    log(options, "VACUUM (ANALYZE)")
    with psycopg.connect(dataset.conninfo(options.database_url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        timings["vacuum"] = time.monotonic() - phase
        sizes = conn.execute(
            """
            SELECT c.relname, c.reltuples::bigint, pg_size_pretty(pg_table_size(c.oid)),
                   pg_size_pretty(pg_indexes_size(c.oid))
            FROM pg_class c WHERE c.relname = ANY(%s) ORDER BY c.relname
            """,
            (list(DATA_TABLES),),
        ).fetchall()
    total = time.monotonic() - began
    log(options, "summary")
    for relname, tuples, table_size, index_size in sizes:
        log(options, f"  {relname}: {tuples:,} rows, table {table_size}, indexes {index_size}")
    log(
        options,
        f"  created_at from {min_created} to {max_created}; {len(sample):,} sampled ids",
    )
    log(
        options,
        f"  COPY {timings['copy']:.1f} s, keys/indexes {timings['indexes']:.1f} s, "
        f"VACUUM {timings['vacuum']:.1f} s; total {total:.1f} s",
    )
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=dataset.DEFAULT_DATABASE_URL)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=dataset.CUSTOMERS)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--years", type=float, default=2.0, help="created_at spread")
    parser.add_argument("--sample-ids", type=int, default=10_000, help="ids kept for W2/W5")
    parser.add_argument("--chunk", type=int, default=100_000, help="events per COPY statement")
    parser.add_argument(
        "--force", action="store_true", help="drop the database even if this script did not make it"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.customers <= dataset.CUSTOMERS:
        parser.error(f"--customers must be 1..{dataset.CUSTOMERS} (ids have six digits)")
    generate(
        Options(
            database_url=args.database_url,
            events=args.events,
            customers=args.customers,
            seed=args.seed,
            years=args.years,
            sample_ids=args.sample_ids,
            chunk=args.chunk,
            force=args.force,
        )
    )


if __name__ == "__main__":
    main()
