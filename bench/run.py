"""Run the whole benchmark suite: the API under wrk next to the same SQL under pgbench.

    python bench/run.py                          # 1,000,000 events, W1-W5, 15 s runs
    python bench/run.py --big                    # + W6 on a 10,000,000-event database
    python bench/run.py --quick                  # tiny data, 2 s runs: does everything work?
    python bench/run.py --soak 300               # + 5 minutes of POST+GET, RSS sampled

For every workload: a warm-up, pgbench on the workload's SQL (bench/pgbench/), then wrk on the
API (bench/wrk/), same concurrency, the server on one set of cores and the load tools on the
other. Writes bench/results/latest.{md,json} and plans.md (EXPLAIN (ANALYZE, BUFFERS) of each
workload's SQL) and, after a full run, rewrites the marked sections of docs/benchmarks.md.
See docs/benchmarks.md for the method.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataset, generate  # noqa: E402

BENCH = ROOT / "bench"
WRK_DIR = BENCH / "wrk"
PGBENCH_DIR = BENCH / "pgbench"
DEFAULT_RESULTS = BENCH / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
API_PREFIX = "/rest-api/enterprise-interface/v1.0"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
RESULTS_MARK = ("<!-- bench:results:start -->", "<!-- bench:results:end -->")
PLANS_MARK = ("<!-- bench:plans:start -->", "<!-- bench:plans:end -->")


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str  # "ratio": API/pgbench at least `value`; "p50": 1-connection API p50 below `value` ms
    value: float
    events: int = 0  # the data size the target is defined for (0: any)
    offset: int = 0  # W4: the offset the target is defined for

    def describe(self) -> str:
        if self.kind == "ratio":
            return f">= {self.value:g}x pgbench"
        where = f" on {self.events:,} events" if self.events else ""
        return f"p50 < {self.value:g} ms{where}"


@dataclass(frozen=True)
class Workload:
    id: str
    title: str
    request: str  # an example request, for the tables
    wrk_script: str
    wrk_args: dict[str, str]
    pgbench_script: str
    pgbench_vars: dict[str, str]
    connections: int
    writes: bool = False
    big: bool = False  # runs on the big data set
    probe: bool = False  # also measure the 1-connection p50 (targets are p50 thresholds)
    random_type: bool = False  # list_events.lua: add event_type_id=<random type>
    target: Target | None = None
    mirrors: str = ""
    events_per_request: int = 1  # WB: events/s = req/s x this, compared with pgbench's tx/s
    pgbench_clients: int = 0  # 0: as many as `connections`


@dataclass
class Config:
    database_url: str
    big_database_url: str
    events: int
    big_events: int
    duration: int
    warmup: int
    probe_duration: int
    offset: int
    workers: int
    server_cpus: str | None
    load_cpus: str | None
    connections: dict[str, int]
    only: list[str] | None
    big: bool
    quick: bool
    soak: int
    soak_connections: int
    results_dir: Path
    update_docs: bool
    label: str | None
    regenerate: bool
    server_env: dict[str, str]
    explain: bool
    sample_ids: int = 10_000


DEFAULT_CONNECTIONS = {
    "W1": 64,
    "W2": 32,
    "W3": 32,
    "W3-desc": 32,
    "W4": 8,
    "W5": 32,
    "W6": 16,
    "WB": 8,
    "W7": 16,
}
BATCH_SIZE = 200  # events per WB request


def workloads(cfg: Config) -> list[Workload]:
    """Every workload of issue 3; W6 only with --big (or --quick, on the tiny data)."""

    def conns(workload_id: str) -> int:
        return cfg.connections.get(workload_id, DEFAULT_CONNECTIONS[workload_id])

    type_prefix = {"type_prefix": dataset.TYPE_PREFIX}
    result = [
        Workload(
            id="W1",
            title="create an event with 3 property records",
            request="POST /events",
            wrk_script="post_event.lua",
            wrk_args={"customer_prefix": dataset.CUSTOMER_PREFIX},
            pgbench_script="w1_post_event.sql",
            pgbench_vars={**type_prefix, "customer_prefix": dataset.CUSTOMER_PREFIX},
            connections=conns("W1"),
            writes=True,
            target=Target("ratio", 1.0),
            mirrors="repository.insert_events + insert_records, one commit",
        ),
        Workload(
            id="W2",
            title="one event by id",
            request="GET /events/{id}",
            wrk_script="get_event.lua",
            wrk_args={},
            pgbench_script="w2_get_event.sql",
            pgbench_vars={},
            connections=conns("W2"),
            target=Target("ratio", 0.5),
            mirrors="repository.get_events, one id (the server coalesces concurrent ids)",
        ),
        Workload(
            id="W3",
            title="a page of one type, with total_items",
            request="GET /events?event_type_id=X&count=100",
            wrk_script="list_events.lua",
            wrk_args={"query": "count=100"},
            random_type=True,
            pgbench_script="w3_list_by_type.sql",
            pgbench_vars={**type_prefix, "count": "100", "offset": "0"},
            connections=conns("W3"),
            mirrors="repository.list_events + count_events",
        ),
        Workload(
            id="W3-desc",
            title="the same, newest first",
            request="GET /events?event_type_id=X&count=100&sort_field=created_at&sort_direction=DESC",
            wrk_script="list_events.lua",
            wrk_args={"query": "count=100&sort_field=created_at&sort_direction=DESC"},
            random_type=True,
            pgbench_script="w3_list_by_type_desc.sql",
            pgbench_vars={**type_prefix, "count": "100", "offset": "0"},
            connections=conns("W3-desc"),
            mirrors="repository.list_events + count_events",
        ),
        Workload(
            id="W4",
            title="a deep page, no filter",
            request=f"GET /events?count=100&offset={cfg.offset}",
            wrk_script="list_events.lua",
            wrk_args={"query": f"count=100&offset={cfg.offset}"},
            pgbench_script="w4_deep_offset.sql",
            pgbench_vars={"count": "100", "offset": str(cfg.offset)},
            connections=conns("W4"),
            probe=True,
            target=Target("p50", 150.0, events=1_000_000, offset=500_000),
            mirrors="repository.list_events (deferred join) + count_events",
        ),
        Workload(
            id="W5",
            title="the property records of an event",
            request="GET /events/{id}/property-records",
            wrk_script="get_event.lua",
            wrk_args={"suffix": "/property-records"},
            pgbench_script="w5_property_records.sql",
            pgbench_vars={},
            connections=conns("W5"),
            target=Target("ratio", 0.5),
            mirrors="one page of repository.record_pages (the server coalesces concurrent pages)",
        ),
    ]
    result.append(
        Workload(
            id="WB",
            title=f"batch ingest: {BATCH_SIZE} events with 3 property records each a request",
            request=f"POST /events/batch ({BATCH_SIZE} events)",
            wrk_script="post_batch.lua",
            wrk_args={"customer_prefix": dataset.CUSTOMER_PREFIX, "batch": str(BATCH_SIZE)},
            # against PostgreSQL's single-event rate: W1's script at W1's concurrency
            pgbench_script="w1_post_event.sql",
            pgbench_vars={**type_prefix, "customer_prefix": dataset.CUSTOMER_PREFIX},
            connections=conns("WB"),
            pgbench_clients=conns("W1"),
            writes=True,
            target=Target("ratio", 3.0),
            mirrors="single-event transactions (W1's SQL); ratio = API events/s / pgbench tx/s",
            events_per_request=BATCH_SIZE,
        )
    )
    result.append(
        Workload(
            id="W7",
            title="a page of one customer's events, with total_items",
            request="GET /customers/{customer_id}/events?count=100",
            wrk_script="customer_events.lua",
            wrk_args={
                "query": "count=100",
                "customer_prefix": dataset.CUSTOMER_PREFIX,
                "customers": str(dataset.CUSTOMERS),
            },
            pgbench_script="w7_customer_events.sql",
            pgbench_vars={
                "customer_prefix": dataset.CUSTOMER_PREFIX,
                "customers": str(dataset.CUSTOMERS),
                "count": "100",
                "offset": "0",
            },
            connections=conns("W7"),
            probe=True,
            target=Target("p50", 20.0, events=10_000_000),
            mirrors="repository.list_events + count_events (customer filter)",
        )
    )
    if cfg.big or cfg.quick:
        result.append(
            Workload(
                id="W6",
                title="total_items of one type on the big data set",
                request="GET /events?event_type_id=X&count=1",
                wrk_script="list_events.lua",
                wrk_args={"query": "count=1"},
                random_type=True,
                pgbench_script="w3_list_by_type.sql",
                pgbench_vars={**type_prefix, "count": "1", "offset": "0"},
                connections=conns("W6"),
                big=not cfg.quick,
                probe=True,
                target=Target("p50", 20.0, events=10_000_000),
                mirrors="repository.list_events + count_events",
            )
        )
    if cfg.only:
        result = [w for w in result if w.id in cfg.only]
    return result


# --- small helpers -------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def pinned(cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus] if cpus and shutil.which("taskset") else []


def cpu_count(cpus: str | None) -> int:
    if not cpus:
        return max(1, len(os.sched_getaffinity(0)))
    count = 0
    for part in cpus.split(","):
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1
    return max(1, count)


def default_cpu_split() -> tuple[str | None, str | None]:
    """Server on the first half of the cores, load tools on the other half (2 cores: 0 | 1)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or not shutil.which("taskset"):
        return None, None
    half = len(cpus) // 2
    return ",".join(map(str, cpus[:half])), ",".join(map(str, cpus[half:]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def events_api_command() -> list[str]:
    script = Path(sys.executable).with_name("events-api")
    return [str(script)] if script.exists() else [sys.executable, "-m", "events_api.cli"]


def tool_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "absent"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


# --- machine and repository ----------------------------------------------------------------


def machine_description(database_url: str) -> dict[str, Any]:
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    ram_gib = 0.0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024 / 1024
    os_name = platform.system()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    virtual = False
    with contextlib.suppress(OSError):
        virtual = " hypervisor" in Path("/proc/cpuinfo").read_text()
    settings = (
        "server_version",
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "wal_level",
        "shared_buffers",
        "work_mem",
        "max_connections",
        "max_wal_size",
        "checkpoint_timeout",
        "jit",
        "max_parallel_workers_per_gather",
    )
    pg: dict[str, str] = {}
    with psycopg.connect(dataset.conninfo(database_url, dbname="postgres")) as conn:
        for name in settings:
            row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            pg[name] = str(row[0]) if row else "?"
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "virtual_machine": virtual,
        "ram_gib": round(ram_gib, 1),
        "os": os_name,
        "kernel": platform.release(),
        "postgresql": pg.pop("server_version"),
        "postgresql_settings": pg,
        "python": platform.python_version(),
        "wrk": tool_version(["wrk", "--version"]),
        "pgbench": tool_version(["pgbench", "--version"]),
    }


def git_state(server_env: dict[str, str]) -> dict[str, Any]:
    """The commit of the code the server runs: this checkout, or the tree that
    `--server-env PYTHONPATH=...` puts first (to measure an older commit beside this suite)."""
    tree = ROOT
    for entry in server_env.get("PYTHONPATH", "").split(os.pathsep):
        if entry and (Path(entry) / "events_api").is_dir():
            tree = Path(entry)
            break

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=tree, capture_output=True, text=True, timeout=30, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    ignored = ("bench/results/", "docs/benchmarks.md")
    changed = [
        line[3:]
        for line in git("status", "--porcelain").splitlines()
        if line[3:] and not line[3:].startswith(ignored)
    ]
    return {"commit": commit, "dirty": bool(changed), "changed_files": changed[:50]}


# --- the database --------------------------------------------------------------------------


def ensure_data(url: str, events: int, cfg: Config) -> dict[str, str]:
    meta = generate.read_meta(url)
    wanted = str(events)
    if (
        cfg.regenerate
        or meta is None
        or meta.get("events") != wanted
        or meta.get("generator_version") != dataset.GENERATOR_VERSION
    ):
        have = meta.get("events") if meta else "none"
        say(f"generating {events:,} events (the database has: {have})")
        meta = generate.generate(
            generate.Options(database_url=url, events=events, sample_ids=cfg.sample_ids)
        )
    else:
        say(f"data set present: {int(meta['events']):,} events (generated {meta['generated_at']})")
    return meta


def remove_written_events(url: str, meta: dict[str, str]) -> int:
    """Delete the events the write workloads added (ids after the generated ones); VACUUM."""
    with psycopg.connect(dataset.conninfo(url), autocommit=True) as conn:
        deleted = conn.execute(
            "DELETE FROM events WHERE event_id > %s", (meta["max_event_id"],)
        ).rowcount
        if deleted:
            conn.execute("VACUUM (ANALYZE) events, event_property_records")
    return max(deleted, 0)


def settle(url: str, timeout: float = 30.0) -> None:
    """Wait until no write is in flight: requests wrk left running when it stopped commit late,
    and a batch of 200 events landing between total_items and count(*) is no wrong count.
    Settled: no other active session on the database, and count(*) unchanged for a second."""
    deadline = time.monotonic() + timeout
    previous = -1
    with psycopg.connect(dataset.conninfo(url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND state NOT IN ('idle') "
                "AND pid <> pg_backend_pid())"
            ).fetchone()
            assert row is not None
            if row[0] == previous and row[1] == 0:
                return
            previous = row[0]
            time.sleep(1.0)


def checkpoint(url: str) -> None:
    with psycopg.connect(dataset.conninfo(url), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def write_input_files(url: str, workdir: Path) -> dict[str, str]:
    """The files the wrk scripts read: sampled event ids and the event type ids."""
    with psycopg.connect(dataset.conninfo(url)) as conn:
        ids = [
            str(r[0])
            for r in conn.execute(
                sql.SQL("SELECT event_id FROM {} ORDER BY n").format(
                    sql.Identifier(dataset.SAMPLE_TABLE)
                )
            )
        ]
        types = [
            str(r[0])
            for r in conn.execute(
                "SELECT event_type_id FROM event_types WHERE event_type_id LIKE %s ORDER BY 1",
                (dataset.TYPE_PREFIX + "%",),
            )
        ]
    tag = re.sub(r"\W", "_", dataset.database_name(url))
    ids_file = workdir / f"{tag}-ids.txt"
    types_file = workdir / f"{tag}-types.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    types_file.write_text("\n".join(types) + "\n")
    return {"ids": str(ids_file), "types": str(types_file), "sample_ids": str(len(ids))}


# --- the server ----------------------------------------------------------------------------


class Server:
    """`events-api serve` pinned to the server cores, with DATABASE_URL set."""

    def __init__(self, cfg: Config, database_url: str, workdir: Path) -> None:
        self.cfg = cfg
        self.database_url = dataset.sqlalchemy_url(database_url)
        self.port = free_port()
        self.log_path = workdir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": self.database_url, "PYTHONUNBUFFERED": "1"}
        env.update(self.cfg.server_env)
        return env

    def create_user(self) -> tuple[str, str]:
        login = f"bench-{int(time.time() * 1000):x}"
        done = subprocess.run(
            [*events_api_command(), "api-user", "create", login],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"events-api api-user create failed: {done.stderr.strip()}")
        return login, done.stdout.strip().splitlines()[-1].strip()

    ready_path = "/health/ready"  # answers 200 once the server takes requests

    def command(self) -> list[str]:
        return [
            *events_api_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.cfg.workers),
        ]

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*pinned(self.cfg.server_cpus), *self.command()],
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the server was not ready within 90 s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # our own session, made at start
            self.process.wait(timeout=10)


def _process_tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def rss_of(root: int) -> dict[int, int]:
    """Resident set size (bytes) of a process and all its descendants, by pid."""
    sizes: dict[int, int] = {}
    for pid in _process_tree(root):
        try:
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        sizes[pid] = pages * PAGE_SIZE
    return sizes


class RssSampler:
    """Samples the server's RSS (sum over its processes, and the largest one) in a thread."""

    def __init__(self, root_pid: int, interval: float = 0.5) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []  # (seconds, total bytes, largest)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = rss_of(self.root_pid)
            if sizes:
                self.samples.append(
                    (time.monotonic() - self._start, sum(sizes.values()), max(sizes.values()))
                )
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def summary(self) -> dict[str, float]:
        if not self.samples:
            return {}
        mb = 1024 * 1024
        return {
            "max_total_mb": round(max(s[1] for s in self.samples) / mb, 1),
            "max_process_mb": round(max(s[2] for s in self.samples) / mb, 1),
            "last_total_mb": round(self.samples[-1][1] / mb, 1),
        }


# --- load tools ----------------------------------------------------------------------------


@dataclass
class Run:
    rate: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    count: int = 0
    errors: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": round(self.rate, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "count": self.count,
            "errors": self.errors,
            "details": self.details,
            "failure": self.failure,
        }


@dataclass
class Context:
    cfg: Config
    server: Server
    auth: str
    inputs: dict[str, str]
    meta: dict[str, str]
    database_url: str
    workdir: Path


def run_wrk(ctx: Context, workload: Workload, connections: int, seconds: int) -> Run:
    threads = max(1, min(connections, cpu_count(ctx.cfg.load_cpus)))
    args = {"prefix": API_PREFIX, **workload.wrk_args}
    if workload.wrk_script in ("post_event.lua", "mixed.lua", "post_batch.lua"):
        args.update(
            run=f"{int(time.time() * 1000):x}",
            types=ctx.inputs["types"],
            customers=str(dataset.CUSTOMERS),
        )
    if workload.wrk_script in ("get_event.lua", "mixed.lua"):
        args["ids"] = ctx.inputs["ids"]
    if workload.random_type:
        args["types"] = ctx.inputs["types"]
    command = [
        *pinned(ctx.cfg.load_cpus),
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-H",
        f"Authorization: {ctx.auth}",
        "-s",
        str(WRK_DIR / workload.wrk_script),
        ctx.server.base_url,
        "--",
        *(f"{k}={v}" for k, v in args.items()),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    except subprocess.TimeoutExpired:
        return Run(failure="wrk did not finish in time")
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        return Run(failure=f"wrk failed ({done.returncode}): {(done.stderr or done.stdout)[-500:]}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    latency = data["latency_us"]
    socket_errors = sum(v for k, v in data["errors"].items() if k != "status")
    return Run(
        rate=data["requests"] / max(data["duration_us"] / 1e6, 1e-9),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        count=data["requests"],
        errors=socket_errors + data["errors"]["status"],
        details={"status": data["status"], "errors": data["errors"], "threads": threads},
    )


def run_pgbench(ctx: Context, workload: Workload, clients: int, seconds: int) -> Run:
    threads = max(1, min(clients, cpu_count(ctx.cfg.load_cpus)))
    variables = {
        "sample_ids": ctx.inputs["sample_ids"],
        **workload.pgbench_vars,
    }
    if workload.writes:
        variables.update(run=f"{int(time.time() * 1000):012x}", n="0", clients=str(clients))
    log_dir = Path(tempfile.mkdtemp(prefix=f"pgbench-{workload.id}-", dir=ctx.workdir))
    command = [
        *pinned(ctx.cfg.load_cpus),
        "pgbench",
        "--no-vacuum",
        "--protocol=prepared",
        "--client",
        str(clients),
        "--jobs",
        str(threads),
        "--time",
        str(seconds),
        "--log",
        f"--log-prefix={log_dir / 'tx'}",
        "--file",
        str(PGBENCH_DIR / workload.pgbench_script),
        *(f"--define={k}={v}" for k, v in variables.items()),
        dataset.conninfo(ctx.database_url),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    except subprocess.TimeoutExpired:
        return Run(failure="pgbench did not finish in time")
    output = done.stdout + done.stderr
    tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", output, re.M)
    processed = re.search(r"number of transactions actually processed: (\d+)", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    aborted = len(re.findall(r"client \d+ aborted", output))
    if tps is None or processed is None:
        return Run(failure=f"pgbench failed ({done.returncode}): {output[-800:]}")
    latencies: list[float] = []
    for path in log_dir.glob("tx*"):
        with path.open() as lines:
            for line in lines:
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    latencies.append(int(parts[2]) / 1000)
    shutil.rmtree(log_dir, ignore_errors=True)
    latencies.sort()
    return Run(
        rate=float(tps.group(1)),
        p50_ms=percentile(latencies, 50),
        p90_ms=percentile(latencies, 90),
        p99_ms=percentile(latencies, 99),
        max_ms=latencies[-1] if latencies else 0.0,
        count=int(processed.group(1)),
        errors=(int(failed.group(1)) if failed else 0) + aborted + (done.returncode != 0),
        details={"threads": threads, "exit_status": done.returncode, "aborted_clients": aborted},
    )


def measure(ctx: Context, workload: Workload) -> dict[str, Any]:
    """Warm-up, pgbench, then the API under wrk with the server's RSS sampled."""
    cfg = ctx.cfg
    if not ctx.server.alive():
        failure = Run(failure="the server is not running")
        return result_entry(workload, ctx, failure, failure, {}, None)
    say(f"{workload.id} {workload.request}  ({workload.connections} connections)")
    if cfg.warmup:
        run_wrk(ctx, workload, workload.connections, cfg.warmup)
    if workload.writes:
        checkpoint(ctx.database_url)
    pg = run_pgbench(ctx, workload, workload.pgbench_clients or workload.connections, cfg.duration)
    say(f"   pgbench {pg.rate:10,.0f} tx/s   p50 {pg.p50_ms:7.2f} ms   errors {pg.errors}")
    if workload.writes:
        checkpoint(ctx.database_url)
    assert ctx.server.process is not None
    with RssSampler(ctx.server.process.pid) as sampler:
        api = run_wrk(ctx, workload, workload.connections, cfg.duration)
    ratio = (
        api.rate * workload.events_per_request / pg.rate if pg.rate and not api.failure else None
    )
    say(
        f"   API     {api.rate:10,.0f} req/s  p50 {api.p50_ms:7.2f} ms   errors {api.errors}"
        f"   ratio {ratio or 0:.2f}   RSS {sampler.summary().get('max_total_mb', 0)} MB"
    )
    for run in (api, pg):
        if run.failure:
            say(f"   FAILED: {run.failure}")
    probe = latency_probe(ctx, workload) if workload.probe else None
    return result_entry(workload, ctx, api, pg, sampler.summary(), probe)


def latency_probe(ctx: Context, workload: Workload) -> dict[str, Any]:
    """Sequential requests on one connection: the p50 the W4/W6 targets are about."""
    seconds = ctx.cfg.probe_duration
    api = run_wrk(ctx, workload, 1, seconds)
    pg = run_pgbench(ctx, workload, 1, seconds)
    say(f"   1 connection: API p50 {api.p50_ms:.2f} ms, pgbench p50 {pg.p50_ms:.2f} ms")
    return {"api": api.as_dict(), "pgbench": pg.as_dict()}


def target_status(
    workload: Workload, events: int, ratio: float | None, probe: dict[str, Any] | None, cfg: Config
) -> tuple[str, bool | None]:
    target = workload.target
    if target is None:
        return "", None
    text = target.describe()
    if cfg.quick:
        return f"{text} (not judged: --quick)", None
    if target.kind == "ratio":
        return text, None if ratio is None else ratio >= target.value
    if target.events and events != target.events:
        return f"{text} (not judged: {events:,} events)", None
    if target.offset and cfg.offset != target.offset:
        return f"{text} (not judged: offset {cfg.offset:,})", None
    if probe is None or probe["api"]["failure"]:
        return text, None
    return text, probe["api"]["p50_ms"] < target.value


def result_entry(
    workload: Workload,
    ctx: Context,
    api: Run,
    pg: Run,
    rss: dict[str, float],
    probe: dict[str, Any] | None,
) -> dict[str, Any]:
    per_request = workload.events_per_request
    ratio = api.rate * per_request / pg.rate if pg.rate and api.rate and not api.failure else None
    events = int(ctx.meta["events"])
    target, met = target_status(workload, events, ratio, probe, ctx.cfg)
    return {
        "id": workload.id,
        "title": workload.title,
        "request": workload.request,
        "events": events,
        "connections": workload.connections,
        "wrk_script": f"bench/wrk/{workload.wrk_script}",
        "pgbench_script": f"bench/pgbench/{workload.pgbench_script}",
        "mirrors": workload.mirrors,
        "api": api.as_dict(),
        "pgbench": pg.as_dict(),
        "ratio": round(ratio, 3) if ratio is not None else None,
        "events_per_request": per_request,
        "api_events_per_s": round(api.rate * per_request, 1),
        "pgbench_clients": workload.pgbench_clients or workload.connections,
        "server_rss": rss,
        "latency_probe": probe,
        "target": target,
        "target_met": met,
    }


# --- soak: memory under sustained load -----------------------------------------------------


def soak(ctx: Context, seconds: int) -> dict[str, Any]:
    say(f"soak: {seconds} s of mixed POST+GET, {ctx.cfg.soak_connections} connections")
    workload = Workload(
        id="soak",
        title="mixed POST + GET",
        request="50% POST /events, 50% GET (by id, records, list by type)",
        wrk_script="mixed.lua",
        wrk_args={"customer_prefix": dataset.CUSTOMER_PREFIX, "post": "0.5"},
        pgbench_script="",
        pgbench_vars={},
        connections=ctx.cfg.soak_connections,
        writes=True,
    )
    assert ctx.server.process is not None
    with RssSampler(ctx.server.process.pid, interval=1.0) as sampler:
        run = run_wrk(ctx, workload, workload.connections, seconds)
    mb = 1024 * 1024
    samples = [
        (round(t, 1), round(total / mb, 1), round(big / mb, 1)) for t, total, big in sampler.samples
    ]
    result: dict[str, Any] = {
        "seconds": seconds,
        "connections": workload.connections,
        "load": run.as_dict(),
        "samples": samples,
    }
    if len(samples) >= 4:
        window = max(1, len(samples) // 5)
        first = statistics.mean(s[1] for s in samples[:window])
        last = statistics.mean(s[1] for s in samples[-window:])
        result.update(
            first_window_mb=round(first, 1),
            last_window_mb=round(last, 1),
            growth_mb=round(last - first, 1),
            max_total_mb=max(s[1] for s in samples),
            max_process_mb=max(s[2] for s in samples),
            flat=(last - first) <= max(5.0, 0.05 * first),
        )
    say(
        f"   {run.rate:,.0f} req/s, errors {run.errors}; RSS first {result.get('first_window_mb')}"
        f" MB -> last {result.get('last_window_mb')} MB (growth {result.get('growth_mb')} MB)"
    )
    return result


# --- correctness checks --------------------------------------------------------------------


def api_get(ctx: Context, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{ctx.server.base_url}{API_PREFIX}{path}", headers={"Authorization": ctx.auth}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def checks(ctx: Context, when: str) -> list[dict[str, Any]]:
    """total_items against count(*), and one event read back: the API must stay exact."""
    found: list[dict[str, Any]] = []
    with psycopg.connect(dataset.conninfo(ctx.database_url)) as conn:
        types = Path(ctx.inputs["types"]).read_text().split()
        for type_id in (None, types[0], types[-1]):
            query = "count=1" + (f"&event_type_id={type_id}" if type_id else "")
            status, body = api_get(ctx, f"/events?{query}")
            where = sql.SQL(" WHERE event_type_id = %s") if type_id else sql.SQL("")
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM events{}").format(where),
                (type_id,) if type_id else None,
            ).fetchone()
            expected = int(row[0]) if row else -1
            actual = body["data"]["total_items"] if status == 200 and body else None
            found.append(
                {
                    "when": when,
                    "check": f"total_items of GET /events?{query} = count(*)",
                    "expected": expected,
                    "actual": actual,
                    "ok": actual == expected,
                }
            )
    event_id = Path(ctx.inputs["ids"]).read_text().split()[0]
    status, body = api_get(ctx, f"/events/{event_id}")
    actual_id = body["data"]["event_id"] if status == 200 and body else None
    found.append(
        {
            "when": when,
            "check": "GET /events/{id} returns the event",
            "expected": event_id,
            "actual": actual_id,
            "ok": actual_id == event_id,
        }
    )
    bad = [c for c in found if not c["ok"]]
    say(f"checks ({when}): {len(found) - len(bad)}/{len(found)} ok")
    for c in bad:
        say(f"   CHECK FAILED: {c['check']}: expected {c['expected']}, got {c['actual']}")
    return found


# --- EXPLAIN plans -------------------------------------------------------------------------


def script_statements(path: Path) -> list[str]:
    """The SQL statements of a pgbench script (meta-commands and comments dropped)."""
    statements: list[str] = []
    current: list[str] = []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("--", "\\")):
            continue
        current.append(line.rstrip())
        if stripped.endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";"))
            current = []
    return [s for s in statements if s.upper() not in ("BEGIN", "COMMIT")]


def substitute(statement: str, values: dict[str, str]) -> str:
    def literal(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        return value if value.isdigit() else "'" + value.replace("'", "''") + "'"

    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", literal, statement)


def explain_values(workload: Workload, inputs: dict[str, str]) -> dict[str, str]:
    return {
        "k": "1",
        "t": "10",
        "c": "100000",
        "v": "42",
        "n": "10000000000001",
        "clients": "1",
        "client_id": "0",
        "run": f"{int(time.time() * 1000):012x}",
        "sample_ids": inputs["sample_ids"],
        **workload.pgbench_vars,
    }


def plans(url: str, selected: list[Workload], inputs: dict[str, str], meta: dict[str, str]) -> str:
    """Markdown: the indexes, then each workload's SQL and its EXPLAIN (ANALYZE, BUFFERS)."""
    lines = [f"### Data set: {int(meta['events']):,} events (`{dataset.database_name(url)}`)", ""]
    with psycopg.connect(dataset.conninfo(url)) as conn:
        rows = conn.execute(
            """
            SELECT c.relname, i.relname, pg_get_indexdef(i.oid), pg_size_pretty(pg_relation_size(i.oid))
            FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relname NOT LIKE 'bench\\_%%' AND c.relname <> 'alembic_version'
            ORDER BY c.relname, i.relname
            """
        ).fetchall()
        lines += ["Indexes:", "", "| table | index | size | definition |", "|---|---|---|---|"]
        lines += [f"| {t} | {i} | {s} | `{d}` |" for t, i, d, s in rows]
        lines.append("")
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        for workload in selected:
            key = (workload.pgbench_script, tuple(sorted(workload.pgbench_vars.items())))
            if key in seen:
                continue
            seen.add(key)
            values = explain_values(workload, inputs)
            lines += [
                f"#### {workload.id}: `{workload.request}`",
                "",
                f"`bench/pgbench/{workload.pgbench_script}` (mirrors {workload.mirrors}), "
                "variables: "
                + (", ".join(f"{k}={v}" for k, v in sorted(workload.pgbench_vars.items())) or "-"),
                "",
            ]
            for statement in script_statements(PGBENCH_DIR / workload.pgbench_script):
                text = substitute(statement, values)
                is_select = text.lstrip().upper().startswith("SELECT")
                explain = sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + sql.SQL(text)
                try:
                    if is_select:
                        conn.execute(explain)  # once to warm the caches; the second is shown
                    plan = "\n".join(str(r[0]) for r in conn.execute(explain))
                except psycopg.Error as exc:
                    conn.rollback()
                    plan = f"ERROR: {exc}".strip()
                lines += ["```sql", text, "```", "```", plan, "```", ""]
            conn.rollback()  # the INSERTs of W1 leave nothing behind
    return "\n".join(lines)


# --- reports -------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def render_markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    s = results["settings"]
    g = results["git"]
    pgs = m["postgresql_settings"]
    out = [
        f"Run of {results['date']} on commit `{g['commit']}`"
        + (" (with uncommitted changes)" if g["dirty"] else "")
        + f", by `{results['command']}`.",
        "",
        f"- Machine: {m['cpu_model']}, {m['cores']} cores"
        + (" (virtual machine)" if m["virtual_machine"] else "")
        + f", {m['ram_gib']} GiB RAM, {m['os']}, kernel {m['kernel']}; "
        f"load average {m['load_average_at_start']:.2f} at the start",
        f"- PostgreSQL {m['postgresql']} (fsync={pgs['fsync']}, "
        f"synchronous_commit={pgs['synchronous_commit']}, shared_buffers={pgs['shared_buffers']}, "
        f"jit={pgs['jit']}); Python {m['python']}; {m['wrk']}; {m['pgbench']}",
        f"- Server: `events-api serve --workers {s['workers']}` pinned to CPU {s['server_cpus']}; "
        f"wrk and pgbench pinned to CPU {s['load_cpus']}; PostgreSQL unpinned"
        + (f"; server env {s['server_env']}" if s["server_env"] else ""),
        f"- Each measurement {s['duration']} s after a {s['warmup']} s warm-up; pgbench "
        "`--protocol=prepared` on the same SQL right before the API; ratio = API req/s / "
        "pgbench tx/s",
        "",
        "| Workload | Request | Events | Conns | API req/s | API p50 / p99 ms | API errors "
        "| pgbench tx/s | pgbench p50 / p99 ms | pgbench errors | API / pgbench | server RSS MB "
        "| Target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for w in results["workloads"]:
        api, pg = w["api"], w["pgbench"]
        met = {True: "met", False: "**missed**", None: ""}[w["target_met"]]
        rss = w["server_rss"].get("max_total_mb")
        per_request = w.get("events_per_request", 1)
        events_note = (
            f" ({fmt(api['rate'] * per_request, 0)} events/s; pgbench "
            f"{w.get('pgbench_clients')} clients)"
            if per_request > 1
            else ""
        )
        out.append(
            f"| {w['id']} | `{w['request']}` | {w['events']:,} | {w['connections']} "
            f"| {fmt(api['rate'], 0)}{events_note} | {fmt(api['p50_ms'], 2)} / {fmt(api['p99_ms'], 2)} "
            f"| {api['errors']}{' (failed)' if api['failure'] else ''} "
            f"| {fmt(pg['rate'], 0)} | {fmt(pg['p50_ms'], 2)} / {fmt(pg['p99_ms'], 2)} "
            f"| {pg['errors']}{' (failed)' if pg['failure'] else ''} "
            f"| {fmt(w['ratio'], 2) + 'x' if w['ratio'] is not None else '-'} | {fmt(rss)} "
            f"| {w['target']} {met} |"
        )
    probes = [w for w in results["workloads"] if w["latency_probe"]]
    if probes:
        out += [
            "",
            "Latency on one connection (sequential requests; the W4 and W6 targets are p50s):",
            "",
            "| Workload | Events | API p50 ms | API p99 ms | pgbench p50 ms | Target |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for w in probes:
            p = w["latency_probe"]
            met = {True: "met", False: "**missed**", None: ""}[w["target_met"]]
            out.append(
                f"| {w['id']} | {w['events']:,} | {fmt(p['api']['p50_ms'], 2)} "
                f"| {fmt(p['api']['p99_ms'], 2)} | {fmt(p['pgbench']['p50_ms'], 2)} "
                f"| {w['target']} {met} |"
            )
    soak_result = results.get("soak")
    if soak_result:
        load = soak_result["load"]
        out += [
            "",
            f"Memory under sustained load ({soak_result['seconds']} s of mixed POST + GET, "
            f"{soak_result['connections']} connections, {fmt(load['rate'], 0)} req/s, "
            f"{load['errors']} errors): server RSS {soak_result.get('first_window_mb')} MB in the "
            f"first fifth, {soak_result.get('last_window_mb')} MB in the last "
            f"(growth {soak_result.get('growth_mb')} MB: "
            f"{'flat' if soak_result.get('flat') else '**growing**'}); largest process "
            f"{soak_result.get('max_process_mb')} MB (target: flat, < 250 MB per worker).",
        ]
    for failure in results.get("failures", []):
        out += ["", f"**Failed:** {failure}"]
    bad = [c for c in results["checks"] if not c["ok"]]
    out += [
        "",
        f"Correctness checks (total_items = count(*), an event read back): "
        f"{len(results['checks']) - len(bad)}/{len(results['checks'])} passed"
        + "".join(f"; **{c['when']}: {c['check']}: {c['expected']} != {c['actual']}**" for c in bad)
        + ".",
    ]
    return "\n".join(out) + "\n"


def replace_section(text: str, marks: tuple[str, str], body: str) -> str:
    start, end = marks
    if start not in text or end not in text:
        return text
    before = text.split(start, 1)[0]
    after = text.split(end, 1)[1]
    return f"{before}{start}\n{body.strip()}\n{end}{after}"


def write_results(cfg: Config, results: dict[str, Any], plans_md: str) -> None:
    cfg.results_dir.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(results)
    names = ["latest"] + ([cfg.label] if cfg.label else [])
    for name in names:
        (cfg.results_dir / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        (cfg.results_dir / f"{name}.md").write_text(f"# Benchmark results\n\n{markdown}")
    if plans_md:
        (cfg.results_dir / "plans.md").write_text(f"# Query plans\n\n{plans_md}\n")
    say(f"results written to {cfg.results_dir}")
    if cfg.update_docs and DOCS.exists():
        text = replace_section(DOCS.read_text(), RESULTS_MARK, markdown)
        if plans_md:
            text = replace_section(text, PLANS_MARK, plans_md)
        DOCS.write_text(text)
        say(f"updated {DOCS.relative_to(ROOT)}")


# --- the suite -----------------------------------------------------------------------------


@contextlib.contextmanager
def running_server(cfg: Config, url: str, workdir: Path) -> Iterator[tuple[Server, str]]:
    server = Server(cfg, url, workdir)
    login, token = server.create_user()
    auth = "Basic " + base64.b64encode(f"{login}:{token}".encode()).decode()
    say(f"starting the server on port {server.port} (workers {cfg.workers}, CPU {cfg.server_cpus})")
    try:
        server.start()
        yield server, auth
    finally:
        server.stop()
        say("server stopped")


def run_on_dataset(
    cfg: Config, url: str, events: int, selected: list[Workload], workdir: Path, with_soak: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any] | None, str]:
    meta = ensure_data(url, events, cfg)
    removed = remove_written_events(url, meta)
    if removed:
        say(f"removed {removed:,} events left by an earlier run")
    inputs = write_input_files(url, workdir)
    plans_md = plans(url, selected, inputs, meta) if cfg.explain else ""
    entries: list[dict[str, Any]] = []
    found: list[dict[str, Any]] = []
    soak_result = None
    with running_server(cfg, url, workdir) as (server, auth):
        ctx = Context(cfg, server, auth, inputs, meta, url, workdir)
        found += checks(ctx, "before the load")
        reads = [w for w in selected if not w.writes]
        writes = [w for w in selected if w.writes]
        entries += [measure(ctx, w) for w in reads + writes]  # writes last: reads see clean data
        if with_soak:
            soak_result = soak(ctx, cfg.soak)
        if writes or soak_result:
            settle(url)
            found += checks(ctx, "after the writes")
            removed = remove_written_events(url, meta)
            say(f"removed the {removed:,} events the write workloads added")
            found += checks(ctx, "after removing them")
    return entries, found, soak_result, plans_md


def suite(cfg: Config, command: str) -> dict[str, Any]:
    for tool in ("wrk", "pgbench"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install -y {tool})")
    started = datetime.now(UTC)
    selected = workloads(cfg)
    load = os.getloadavg()[0]
    if load > 0.5:
        say(f"warning: the machine is busy (load average {load:.2f}); numbers will suffer")
    results: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "git": git_state(cfg.server_env),
        "machine": {**machine_description(cfg.database_url), "load_average_at_start": load},
        "settings": {
            "events": cfg.events,
            "big_events": cfg.big_events if cfg.big else None,
            "duration": cfg.duration,
            "warmup": cfg.warmup,
            "probe_duration": cfg.probe_duration,
            "offset": cfg.offset,
            "workers": cfg.workers,
            "server_cpus": cfg.server_cpus or "any",
            "load_cpus": cfg.load_cpus or "any",
            "connections": {w.id: w.connections for w in selected},
            "server_env": cfg.server_env,
            "pgbench_protocol": "prepared",
            "database_url": redact(cfg.database_url),
            "quick": cfg.quick,
        },
        "workloads": [],
        "checks": [],
        "soak": None,
        "failures": [],
    }
    plan_parts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="events-bench-") as tmp:
        workdir = Path(tmp)
        main = [w for w in selected if not w.big]
        big = [w for w in selected if w.big]
        for url, events, chosen, with_soak in (
            (cfg.database_url, cfg.events, main, cfg.soak > 0),
            (cfg.big_database_url, cfg.big_events, big, False),
        ):
            if not chosen and not with_soak:
                continue
            try:
                entries, found, soak_result, plans_md = run_on_dataset(
                    cfg, url, events, chosen, workdir, with_soak
                )
            except Exception as exc:  # keep what the other data set measured
                say(f"FAILED on {dataset.database_name(url)}: {exc}")
                results["failures"].append(f"{dataset.database_name(url)}: {exc}")
                continue
            results["workloads"] += entries
            results["checks"] += found
            results["soak"] = results["soak"] or soak_result
            plan_parts.append(plans_md)
    order = [w.id for w in selected]
    results["workloads"].sort(key=lambda e: order.index(e["id"]))
    results["seconds"] = round((datetime.now(UTC) - started).total_seconds())
    write_results(cfg, results, "\n".join(p for p in plan_parts if p))
    print()
    print(render_markdown(results))
    return results


def parse_connections(text: str) -> dict[str, int]:
    result: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        if key not in DEFAULT_CONNECTIONS or not value.isdigit() or int(value) < 1:
            raise argparse.ArgumentTypeError(f"expected W1=64,W4=8,... (got {part!r})")
        result[key] = int(value)
    return result


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", default=dataset.DEFAULT_DATABASE_URL)
    parser.add_argument("--events", type=int, default=None, help="default 1,000,000")
    parser.add_argument("--duration", type=int, default=None, help="seconds per run (15)")
    parser.add_argument("--warmup", type=int, default=None, help="seconds of warm-up (3)")
    parser.add_argument("--probe-duration", type=int, default=None, help="1-connection p50 runs")
    parser.add_argument("--offset", type=int, default=None, help="W4 offset (500,000)")
    parser.add_argument("--workers", type=int, default=None, help="default: one per server CPU")
    parser.add_argument("--server-cpus", default=None, help='taskset list, e.g. "0"; "none"')
    parser.add_argument("--load-cpus", default=None, help='taskset list, e.g. "1"; "none"')
    parser.add_argument(
        "--connections", type=parse_connections, default={}, help="e.g. W1=64,W2=32,W4=8"
    )
    parser.add_argument("--workloads", default=None, help="only these, e.g. W2,W5")
    parser.add_argument("--big", action="store_true", help="also W6 on a 10M-event database")
    parser.add_argument("--big-events", type=int, default=10_000_000)
    parser.add_argument("--big-database-url", default=None, help="default: <database>_big")
    parser.add_argument("--quick", action="store_true", help="tiny data, short runs (smoke)")
    parser.add_argument("--soak", type=int, default=0, metavar="SECONDS", help="memory check")
    parser.add_argument("--soak-connections", type=int, default=32)
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--label", default=None, help="also write <label>.json/.md")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN plans")
    parser.add_argument("--regenerate", action="store_true", help="generate the data again")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="KEY=VALUE", help="server setting"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    if quick and args.database_url == dataset.DEFAULT_DATABASE_URL:
        args.database_url = dataset.DEFAULT_DATABASE_URL + "_quick"
    server_cpus, load_cpus = default_cpu_split()
    if args.server_cpus is not None:
        server_cpus = None if args.server_cpus == "none" else args.server_cpus
    if args.load_cpus is not None:
        load_cpus = None if args.load_cpus == "none" else args.load_cpus
    events = args.events or (2_000 if quick else 1_000_000)
    duration = args.duration or (2 if quick else 15)
    only = [w.strip() for w in args.workloads.split(",")] if args.workloads else None
    if only and not set(only) <= set(DEFAULT_CONNECTIONS):
        parser.error(f"--workloads: choose among {', '.join(DEFAULT_CONNECTIONS)}")
    connections = dict(args.connections)
    if quick:
        connections = {k: min(connections.get(k, v), 4) for k, v in DEFAULT_CONNECTIONS.items()}
    results_dir = args.results_dir or (
        Path(tempfile.mkdtemp(prefix="events-bench-quick-")) if quick else DEFAULT_RESULTS
    )
    env = dict(item.split("=", 1) for item in args.server_env if "=" in item)
    full_suite = not quick and not only and results_dir.resolve() == DEFAULT_RESULTS.resolve()
    big_url = args.big_database_url or dataset.with_database(
        args.database_url, dataset.database_name(args.database_url) + "_big"
    )
    return Config(
        database_url=args.database_url,
        big_database_url=big_url,
        events=events,
        big_events=args.big_events,
        duration=duration,
        warmup=args.warmup if args.warmup is not None else (0 if quick else 3),
        probe_duration=args.probe_duration or (1 if quick else min(duration, 10)),
        offset=args.offset if args.offset is not None else (events // 2 if quick else 500_000),
        workers=args.workers or cpu_count(server_cpus),
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        connections=connections,
        only=only,
        big=args.big and not quick,
        quick=quick,
        soak=args.soak,
        soak_connections=min(args.soak_connections, 4) if quick else args.soak_connections,
        results_dir=results_dir,
        update_docs=full_suite and not args.no_docs,
        label=args.label,
        regenerate=args.regenerate,
        server_env=env,
        explain=not args.no_explain,
    )


def _interrupted(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds: load tools killed, server stopped


def main(argv: list[str] | None = None) -> None:
    # Ctrl-C and SIGTERM stop the run cleanly, even when started in the background (where a
    # shell leaves SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupted)
    cfg = parse_args(argv)
    command = "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results = suite(cfg, command.strip())
    failed = [
        w["id"] for w in results["workloads"] if w["api"]["failure"] or w["pgbench"]["failure"]
    ] + results["failures"]
    if failed:
        say(f"failed runs: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
