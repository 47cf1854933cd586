"""Issue 9's measurements of the lean request path, in one go on one machine.

    python bench/lean.py                          # ~4 minutes, on the data set present
    git worktree add /tmp/before cd5a0f4          # the code before issue 9's lean path
    python bench/lean.py --before /tmp/before/src # + W2/W1 of that tree, profiled (~5 min)

- the bare FastAPI app (bench/bare_app.py, the same uvicorn workers and settings as
  `events-api serve`) against the server on W2 and W5: req/s, p50, p99, errors, server/bare;
- W1 (POST /events) against pgbench running bench/pgbench/w1_post_event.sql;
- the tail: W1, W2, W3 at 64 and 256 connections (p99/p50, socket errors and timeouts);
- observability on and off on W2 (off: METRICS_ENABLED=false, LOG_LEVEL=warning): in the
  alternating runs, and loaded at the same time on the same CPU (`measure_together`), where a
  busy moment of the machine hits both alike;
- for every run, the server's CPU time per request (utime+stime of the server's processes,
  from /proc): steadier than req/s on a busy machine;
- profiles (py-spy --gil --native -r 250 -f raw) of W2 and W1 under load, the samples sorted
  into the layers of a request and turned into µs per request (CPU µs per request x share).

Writes bench/results/lean-path.{json,md}. Reuses bench/run.py's data set, input files, server
and load tools; the server on the first half of the cores, wrk/pgbench on the other half.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataset, generate, run  # noqa: E402
from bench.run import Config, Context, Run, Server, Workload, say  # noqa: E402

DEFAULT_EVENTS = 100_000  # generated only when the database holds no data set
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TARGETS = {"ratio_bare": 0.35, "ratio_pgbench": 0.35, "tail": 5.0, "observability": 0.10}
TAIL_CONNECTIONS = (64, 256)
ROUNDS = 3  # the compared runs (bare/server, observability on/off, before/after) alternate
PROFILES_DIR = os.environ.get("LEAN_PROFILES_DIR")  # keep py-spy's raw stacks there


# --- CPU time of the server ----------------------------------------------------------------


def cpu_seconds(root: int) -> float:
    """utime + stime of a process and its descendants (all their threads), in seconds."""
    ticks = 0
    for pid in run._process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / CLOCK_TICKS


def quiesce(root: int, timeout: float = 30.0) -> None:
    """Wait until the server is idle (under 5% of a core for 0.5 s): requests a load tool left
    behind when it stopped are served before the next measurement starts."""
    deadline = time.monotonic() + timeout
    previous = cpu_seconds(root)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(root)
        if now - previous < 0.025:
            return
        previous = now


class BareServer(Server):
    """`uvicorn bench.bare_app:app` with the uvicorn settings of `events-api serve`."""

    ready_path = f"{run.API_PREFIX}/events/ready"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.cfg.workers),
            "--no-proxy-headers",
            "--no-server-header",
            "--no-access-log",
            "--log-level",
            "info",  # the server's default LOG_LEVEL
        ]


# --- one measurement -----------------------------------------------------------------------


@dataclass
class Measured:
    name: str
    target: str  # "server", "bare", "server (observability off)", "before", "pgbench"
    workload: str
    connections: int
    run: Run
    cpu_us: float | None  # server CPU µs per request

    def as_dict(self) -> dict[str, Any]:
        data = self.run.as_dict()
        details = data.pop("details")
        errors = details.get("errors", {})
        return {
            "name": self.name,
            "target": self.target,
            "workload": self.workload,
            "connections": self.connections,
            **data,
            "socket_errors": sum(v for k, v in errors.items() if k != "status"),
            "timeouts": errors.get("timeout", 0),
            "status": details.get("status", {}),
            "tail_ratio": round(self.run.p99_ms / self.run.p50_ms, 2) if self.run.p50_ms else None,
            "cpu_us_per_request": round(self.cpu_us, 1) if self.cpu_us is not None else None,
        }


def measure(ctx: Context, workload: Workload, connections: int, target: str) -> Measured:
    assert ctx.server.process is not None
    if ctx.cfg.warmup:
        run.run_wrk(ctx, workload, connections, ctx.cfg.warmup)
    pid = ctx.server.process.pid
    quiesce(pid)
    before = cpu_seconds(pid)
    result = run.run_wrk(ctx, workload, connections, ctx.cfg.duration)
    # wrk stops with one request in flight on each connection: the server still serves them
    quiesce(pid)
    return measured(target, workload, connections, result, cpu_seconds(pid) - before)


def measured(
    target: str, workload: Workload, connections: int, result: Run, used: float
) -> Measured:
    """A run's result with the server CPU it used (seconds) per request, shown as it ends."""
    cpu_us = used * 1e6 / (result.count + connections) if result.count else None
    say(
        f"   {target:28} {workload.id:3} c={connections:<4} {result.rate:8,.0f} req/s  p50"
        f" {result.p50_ms:7.2f}  p99 {result.p99_ms:8.2f} ms  errors {result.errors}"
        f"  CPU {cpu_us or 0:6.0f} µs/req"
        + (f"  FAILED: {result.failure}" if result.failure else "")
    )
    name = f"{target} {workload.id} c={connections}"
    return Measured(name, target, workload.id, connections, result, cpu_us)


def measure_together(
    ctxs: dict[str, Context], workload: Workload, connections: int
) -> dict[str, Measured]:
    """The same load on each server at the same time (they share the server CPUs): a paired
    comparison of their CPU per request, for differences smaller than the machine's drift
    from one run to the next."""
    results: dict[str, Run] = {}

    def load(name: str, seconds: int) -> None:
        results[name] = run.run_wrk(ctxs[name], workload, connections, seconds)

    def all_at_once(seconds: int) -> None:
        threads = [threading.Thread(target=load, args=(name, seconds)) for name in ctxs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    cfg = next(iter(ctxs.values())).cfg
    pids = {name: ctx.server.process.pid for name, ctx in ctxs.items() if ctx.server.process}
    if cfg.warmup:
        all_at_once(cfg.warmup)
    for pid in pids.values():
        quiesce(pid)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    all_at_once(cfg.duration)
    for pid in pids.values():
        quiesce(pid)
    return {
        name: measured(
            f"{name} (together)",
            workload,
            connections,
            results[name],
            cpu_seconds(pid) - before[name],
        )
        for name, pid in pids.items()
    }


def measure_pgbench(ctx: Context, workload: Workload, clients: int) -> Measured:
    run.checkpoint(ctx.database_url)
    for _attempt in range(5):  # other users of the server may hold most of max_connections
        result = run.run_pgbench(ctx, workload, clients, ctx.cfg.duration)
        if not (result.failure and "too many clients" in result.failure):
            break
        say("   pgbench: too many clients on the server; again in 5 s")
        time.sleep(5)
    say(
        f"   {'pgbench':28} {workload.id:3} c={clients:<4} {result.rate:8,.0f} tx/s   p50"
        f" {result.p50_ms:7.2f}  p99 {result.p99_ms:8.2f} ms  errors {result.errors}"
        + (f"  FAILED: {result.failure}" if result.failure else "")
    )
    run.checkpoint(ctx.database_url)
    return Measured(
        f"pgbench {workload.id} c={clients}", "pgbench", workload.id, clients, result, None
    )


# --- profiles ------------------------------------------------------------------------------

# The layers of a request, by the file (and for a few, the function) of a frame. A sample
# belongs to the innermost frame that names a layer; frames of the standard library and other
# shared code (asyncio, contextlib, typing, ...) name none, so they count for their caller.
LAYERS = (
    "uvicorn/HTTP + event loop",
    "middleware",
    "FastAPI routing/deps",
    "auth",
    "app (router/service)",
    "DB driver/SQLAlchemy",
    "serialisation",
    "logging/metrics",
    "garbage collector",
)
SERIALISE_FUNCTIONS = (
    "serialize_response",
    "_prepare_response_content",
    "jsonable_encoder",
    "render",
    "envelope",
)


MIDDLEWARE = (
    "starlette/middleware/",
    "uvicorn/middleware/",
    "asgi_correlation_id/",
    "fastapi/telemetry/",
    "fastapi/_body_limit.py",
    "core/middleware.py",
    "core/proxy.py",
)


def layer_of(frame: str) -> str | None:
    """The layer one frame ("function (path:line)") belongs to, or None (shared code)."""
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    if any(part in path for part in ("logging/", "prometheus_client", "prometheus_fastapi")):
        return "logging/metrics"
    if path.endswith(("core/observability.py", "core/logs.py")):
        return "logging/metrics"
    if function in SERIALISE_FUNCTIONS or any(
        part in path for part in ("json/", "pydantic/", "pydantic_core", "fastapi/encoders.py")
    ):
        return "serialisation"
    if path.endswith(("starlette/responses.py", "/schemas.py", "core/timefmt.py")):
        return "serialisation"
    if any(part in path for part in ("sqlalchemy/", "psycopg", "/core/db.py", "/core/replicas.py")):
        return "DB driver/SQLAlchemy"
    if path.endswith(("repository.py", "/rows.py")):
        return "DB driver/SQLAlchemy"
    if any(part in path for part in ("/api_users/", "core/ratelimit.py", "core/auth.py")):
        return "auth"
    if any(part in path for part in MIDDLEWARE):
        return "middleware"
    if path.endswith(("starlette/_exception_handler.py", "core/http_rules.py")):
        return "middleware"
    if any(part in path for part in ("uvicorn/", "httptools", "h11", "core/http_protocol.py")):
        return "uvicorn/HTTP + event loop"
    if any(part in path for part in ("fastapi/", "starlette/", "anyio/", "core/deps.py")):
        return "FastAPI routing/deps"
    if path.endswith(("core/state.py", "core/params.py", "core/routes.py")):
        return "FastAPI routing/deps"
    if "events_api/" in path:
        return "app (router/service)"
    return None


def classify(stack: str) -> str:
    if "gc_collect" in stack:  # CPython's cyclic collector (a native frame, with --native)
        return "garbage collector"
    frames = stack.split(";")
    for frame in reversed(frames):
        layer = layer_of(frame)
        if layer is not None:
            return layer
    return "uvicorn/HTTP + event loop"  # the event loop itself (asyncio, uvloop, selectors)


def read_profile(path: Path) -> Counter[str]:
    layers: Counter[str] = Counter()
    if not path.exists():
        return layers
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            layers[classify(stack)] += int(count)
    return layers


def top_functions(path: Path, limit: int = 12) -> list[tuple[str, int]]:
    """The innermost frames that took the most samples (for the written profile)."""
    leaves: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                leaves[stack.split(";")[-1]] += int(count)
    return leaves.most_common(limit)


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def profile(ctx: Context, workload: Workload, connections: int, target: str) -> dict[str, Any]:
    """wrk for the run's duration; py-spy records the server in the middle of it."""
    tool = py_spy()
    assert ctx.server.process is not None
    if tool is None:
        return {"failure": "py-spy is not installed (pip install py-spy)"}
    quiesce(ctx.server.process.pid)
    out = ctx.workdir / f"profile-{target}-{workload.id}.txt"
    seconds = max(1, ctx.cfg.duration - 2)
    holder: dict[str, Run] = {}
    load = threading.Thread(
        target=lambda: holder.update(run=run.run_wrk(ctx, workload, connections, ctx.cfg.duration))
    )
    load.start()
    time.sleep(1)
    before = cpu_seconds(ctx.server.process.pid)
    done = subprocess.run(
        [
            *run.pinned(ctx.cfg.load_cpus),
            tool,
            "record",
            "--gil",
            "--native",  # C frames too: the garbage collector is otherwise blamed on its caller
            "-r",
            "250",
            "-f",
            "raw",
            "--subprocesses",
            "-d",
            str(seconds),
            "-p",
            str(ctx.server.process.pid),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    used = cpu_seconds(ctx.server.process.pid) - before
    load.join(timeout=ctx.cfg.duration + 90)
    layers = read_profile(out)
    if PROFILES_DIR and out.exists():
        Path(PROFILES_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(PROFILES_DIR) / out.name)
    total = sum(layers.values())
    wrk_run = holder.get("run", Run(failure="wrk did not finish"))
    say(
        f"   profile {target} {workload.id}: {total} samples, {wrk_run.rate:,.0f} req/s while"
        f" profiled ({'ok' if done.returncode == 0 else done.stderr.strip()[-200:]})"
    )
    return {
        "workload": workload.id,
        "connections": connections,
        "samples": total,
        "seconds": seconds,
        "cpu_seconds_while_profiled": round(used, 2),
        "rate_while_profiled": round(wrk_run.rate, 1),
        "share": {name: round(layers[name] / total, 4) if total else 0.0 for name in LAYERS},
        "top_functions": [[frame, count] for frame, count in top_functions(out)],
        "failure": None if done.returncode == 0 and total else done.stderr.strip()[-500:],
    }


def breakdown(profile_result: dict[str, Any], cpu_us: float | None) -> dict[str, float]:
    """µs per request in each layer: CPU µs per request x the layer's share of samples."""
    if cpu_us is None or profile_result.get("failure"):
        return {}
    return {name: round(cpu_us * profile_result["share"][name], 1) for name in LAYERS}


# --- the run -------------------------------------------------------------------------------


@contextlib.contextmanager
def started(server: Server) -> Iterator[Server]:
    say(f"starting {type(server).__name__} on port {server.port}")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def median(values: list[float]) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def rounded(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def lean(cfg: Config, before_tree: str | None, with_profiles: bool) -> dict[str, Any]:
    url = cfg.database_url
    meta = generate.read_meta(url)
    events = int(meta["events"]) if meta else cfg.events
    meta = run.ensure_data(url, events, cfg)
    removed = run.remove_written_events(url, meta)
    if removed:
        say(f"removed {removed:,} events left by an earlier run")
    workdir = Path(tempfile.mkdtemp(prefix="events-lean-"))
    inputs = run.write_input_files(url, workdir)
    by_id = {w.id: w for w in run.workloads(cfg)}
    w1, w2, w3, w5 = by_id["W1"], by_id["W2"], by_id["W3"], by_id["W5"]
    c_read = w2.connections  # bench/run.py's concurrency for W2/W5 (32)
    runs: list[Measured] = []
    profiles: dict[str, dict[str, Any]] = {}
    server = Server(cfg, url, workdir)
    login, token = server.create_user()
    auth = "Basic " + base64.b64encode(f"{login}:{token}".encode()).decode()

    def context(target: Server) -> Context:
        return Context(cfg, target, auth, inputs, meta, url, workdir)

    quiet = dataclasses.replace(
        cfg, server_env={**cfg.server_env, "METRICS_ENABLED": "false", "LOG_LEVEL": "warning"}
    )
    servers: dict[str, Server] = {
        "bare": BareServer(cfg, url, workdir),
        "server": server,
        "observability off": Server(quiet, url, workdir),
    }
    if before_tree:
        older = dataclasses.replace(cfg, server_env={**cfg.server_env, "PYTHONPATH": before_tree})
        servers["before"] = Server(older, url, workdir)
    try:
        # pgbench first, before the servers hold their pools (max_connections is shared)
        say("W1's SQL under pgbench")
        runs.append(measure_pgbench(context(server), w1, w1.connections))
        # Every server runs at once (idle but one); the runs to compare alternate between
        # them, round after round, so that a busy moment of the machine hits them all alike.
        with contextlib.ExitStack() as stack:
            for target in servers.values():
                stack.enter_context(started(target))
            ctx = {name: context(target) for name, target in servers.items()}
            for round_number in range(ROUNDS):
                say(f"round {round_number + 1} of {ROUNDS}: bare / server / off / before")
                for workload in (w2, w5):
                    for name in ("bare", "server"):
                        runs.append(measure(ctx[name], workload, c_read, name))
                for name in ("observability off", "before"):
                    if name in ctx:
                        runs.append(measure(ctx[name], w2, c_read, name))
                pair = {name: ctx[name] for name in ("server", "observability off")}
                runs += measure_together(pair, w2, c_read // 2).values()
                for name in ("server", "before"):
                    if name in ctx:
                        runs.append(measure(ctx[name], w1, w1.connections, name))
            say("the tail: W1, W2, W3 at 64 and 256 connections")
            for connections in TAIL_CONNECTIONS:
                for workload in (w2, w3) if connections == w1.connections else (w1, w2, w3):
                    runs.append(measure(ctx["server"], workload, connections, "server"))
            if with_profiles:
                say("profiles")
                for name, label in (("server", "after"), ("before", "before")):
                    if name in ctx:
                        profiles[f"{label} W2"] = profile(ctx[name], w2, c_read, label)
                        profiles[f"{label} W1"] = profile(ctx[name], w1, w1.connections, label)
        run.settle(url)
        removed = run.remove_written_events(url, meta)
        say(f"removed the {removed:,} events the W1 runs added")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return summarise(cfg, meta, runs, profiles, before_tree)


def summarise(
    cfg: Config,
    meta: dict[str, str],
    runs: list[Measured],
    profiles: dict[str, dict[str, Any]],
    before_tree: str | None,
) -> dict[str, Any]:
    def pick(target: str, workload: str, connections: int | None = None) -> list[Measured]:
        return [
            m
            for m in runs
            if m.target == target
            and m.workload == workload
            and (connections is None or m.connections == connections)
        ]

    def rate(target: str, workload: str, connections: int) -> float:
        return median([m.run.rate for m in pick(target, workload, connections)]) or 0.0

    def cpu(target: str, workload: str, connections: int) -> float | None:
        return median([m.cpu_us for m in pick(target, workload, connections) if m.cpu_us])

    def ratio(what: str, value: float | None, target: float, cpu_value: float | None) -> None:
        ratios.append(
            {
                "what": what,
                "value": round(value, 3) if value else None,
                "cpu_ratio": round(cpu_value, 3) if cpu_value else None,
                "target": target,
                "met": value is not None and value >= target,
            }
        )

    c_read = run.DEFAULT_CONNECTIONS["W2"]
    c_write = run.DEFAULT_CONNECTIONS["W1"]
    ratios: list[dict[str, Any]] = []
    for workload in ("W2", "W5"):
        server_rate, bare_rate = rate("server", workload, c_read), rate("bare", workload, c_read)
        server_cpu, bare_cpu = cpu("server", workload, c_read), cpu("bare", workload, c_read)
        ratio(
            f"{workload} server / bare FastAPI (req/s, medians)",
            server_rate / bare_rate if bare_rate else None,
            TARGETS["ratio_bare"],
            bare_cpu / server_cpu if bare_cpu and server_cpu else None,
        )
    api_w1, pg_w1 = rate("server", "W1", c_write), rate("pgbench", "W1", c_write)
    ratio(
        "W1 server req/s / pgbench tx/s",
        api_w1 / pg_w1 if pg_w1 else None,
        TARGETS["ratio_pgbench"],
        None,
    )
    comparisons: list[dict[str, Any]] = []
    for workload, connections, targets in (
        ("W2", c_read, ("bare", "server", "observability off", "before")),
        ("W2", c_read // 2, ("server (together)", "observability off (together)")),
        ("W5", c_read, ("bare", "server")),
        ("W1", c_write, ("server", "before")),
    ):
        for target in targets:
            if pick(target, workload, connections):
                comparisons.append(
                    {
                        "target": target,
                        "workload": workload,
                        "connections": connections,
                        "runs": len(pick(target, workload, connections)),
                        "rate": round(rate(target, workload, connections), 1),
                        "cpu_us_per_request": round(cpu(target, workload, connections) or 0, 1),
                    }
                )
    tails: list[dict[str, Any]] = []
    for connections in TAIL_CONNECTIONS:
        for workload in ("W1", "W2", "W3"):
            for m in pick("server", workload, connections):
                entry = m.as_dict()
                tails.append(
                    {
                        "workload": workload,
                        "connections": connections,
                        "p50_ms": entry["p50_ms"],
                        "p99_ms": entry["p99_ms"],
                        "tail_ratio": entry["tail_ratio"],
                        "socket_errors": entry["socket_errors"],
                        "timeouts": entry["timeouts"],
                        "met": (entry["tail_ratio"] or 99) <= TARGETS["tail"]
                        and entry["socket_errors"] == 0,
                    }
                )
    cpu_on = median([m.cpu_us for m in pick("server", "W2", c_read) if m.cpu_us])
    cpu_off = median([m.cpu_us for m in pick("observability off", "W2", c_read) if m.cpu_us])
    rate_on = median([m.run.rate for m in pick("server", "W2", c_read)])
    rate_off = median([m.run.rate for m in pick("observability off", "W2", c_read)])
    share = (cpu_on - cpu_off) / cpu_on if cpu_on and cpu_off else None
    # each round's on/off runs side by side: the share of each pair, then their median
    alternating = pick("server", "W2", c_read), pick("observability off", "W2", c_read)
    together = pick("server (together)", "W2"), pick("observability off (together)", "W2")
    shares = {
        kind: [
            (on.cpu_us - off.cpu_us) / on.cpu_us
            for on, off in zip(*pairs, strict=False)
            if on.cpu_us and off.cpu_us
        ]
        for kind, pairs in (("alternating", alternating), ("together", together))
    }
    together_share = median(shares["together"])
    observability = {
        "cpu_us_on": round(cpu_on, 1) if cpu_on else None,
        "cpu_us_off": round(cpu_off, 1) if cpu_off else None,
        "rate_on": round(rate_on, 1) if rate_on else None,
        "rate_off": round(rate_off, 1) if rate_off else None,
        "cost_share": round(share, 3) if share is not None else None,
        "round_shares": [round(x, 3) for x in shares["alternating"]],
        "together_cpu_us_on": rounded(median([m.cpu_us for m in together[0] if m.cpu_us])),
        "together_cpu_us_off": rounded(median([m.cpu_us for m in together[1] if m.cpu_us])),
        "together_shares": [round(x, 3) for x in shares["together"]],
        "together_share": round(together_share, 3) if together_share is not None else None,
        "target": TARGETS["observability"],
        "met": share is not None and share <= TARGETS["observability"],
        "together_met": together_share is not None and together_share <= TARGETS["observability"],
    }

    profile_summary: dict[str, Any] = {}
    for name, result in profiles.items():
        target, workload = name.split()
        connections = c_read if workload == "W2" else c_write
        cpu_us = cpu("server" if target == "after" else "before", workload, connections)
        profile_summary[name] = {
            **result,
            "cpu_us_per_request": round(cpu_us, 1) if cpu_us else None,
            "us_per_request": breakdown(result, cpu_us),
        }
    if "after W2" in profile_summary and not profile_summary["after W2"].get("failure"):
        observability["profile_share"] = profile_summary["after W2"]["share"]["logging/metrics"]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python bench/lean.py " + " ".join(sys.argv[1:]),
        "git": run.git_state({}),
        "before_tree": before_tree,
        "before_git": run.git_state({"PYTHONPATH": before_tree}) if before_tree else None,
        "machine": {
            **run.machine_description(cfg.database_url),
            "load_average_at_end": round(os.getloadavg()[0], 2),
        },
        "settings": {
            "events": int(meta["events"]),
            "duration": cfg.duration,
            "warmup": cfg.warmup,
            "workers": cfg.workers,
            "server_cpus": cfg.server_cpus or "any",
            "load_cpus": cfg.load_cpus or "any",
            "database_url": run.redact(cfg.database_url),
        },
        "ratios": ratios,
        "comparisons": comparisons,
        "tails": tails,
        "observability": observability,
        "runs": [m.as_dict() for m in runs],
        "profiles": profile_summary,
    }


# --- the report ----------------------------------------------------------------------------


def verdict(met: bool | None) -> str:
    return "met" if met else "MISSED"


def render(results: dict[str, Any]) -> str:
    s = results["settings"]
    m = results["machine"]
    lines = [
        "# Lean request path (issue 9)",
        "",
        f"{results['date']}, commit {results['git']['commit']}"
        + (" (uncommitted changes)" if results["git"]["dirty"] else "")
        + f"; `{results['command']}`",
        "",
        f"{m['cpu_model']}, {m['cores']} cores, PostgreSQL {m['postgresql']}; "
        f"{s['events']:,} events; {s['workers']} worker(s) on CPU {s['server_cpus']}, "
        f"load tools on CPU {s['load_cpus']}; {s['duration']} s runs after {s['warmup']} s "
        f"of warm-up; load average at the end {m['load_average_at_end']}.",
        "",
        "## Targets",
        "",
        "| measure | value | target | |",
        "|---|---:|---:|---|",
    ]
    for ratio in results["ratios"]:
        by_cpu = f" (by CPU µs per request: {ratio['cpu_ratio']})" if ratio["cpu_ratio"] else ""
        lines.append(
            f"| {ratio['what']}{by_cpu} | {ratio['value']} | >= {ratio['target']} "
            f"| {verdict(ratio['met'])} |"
        )
    for tail in results["tails"]:
        lines.append(
            f"| {tail['workload']} at {tail['connections']} connections: p99/p50 "
            f"({tail['p99_ms']} / {tail['p50_ms']} ms), socket errors {tail['socket_errors']} "
            f"(timeouts {tail['timeouts']}) | {tail['tail_ratio']} | <= {TARGETS['tail']:g}, 0 "
            f"| {verdict(tail['met'])} |"
        )
    o = results["observability"]
    lines += [
        f"| observability's CPU share on W2, alternating runs ({o['cpu_us_on']} µs/req on, "
        f"{o['cpu_us_off']} off; each round's pair: {o.get('round_shares')}) "
        f"| {o['cost_share']} | <= {o['target']} | {verdict(o['met'])} |",
        f"| the same, both loaded at once on the same CPU ({o.get('together_cpu_us_on')} µs/req "
        f"on, {o.get('together_cpu_us_off')} off; each round: {o.get('together_shares')}) "
        f"| {o.get('together_share')} | <= {o['target']} | {verdict(o.get('together_met'))} |",
        f"| for information: the logging/metrics layer's share of the W2 profile's samples "
        f"(request ids included, which `off` keeps; py-spy's pauses weigh on it) "
        f"| {o.get('profile_share')} | | |",
        "",
        "## Medians of the alternating runs",
        "",
        "| server | workload | conns | runs | req/s | server CPU µs/req |",
        "|---|---|---:|---:|---:|---:|",
        *(
            f"| {c['target']} | {c['workload']} | {c['connections']} | {c['runs']} "
            f"| {c['rate']:,.0f} | {c['cpu_us_per_request']} |"
            for c in results["comparisons"]
        ),
        "",
        "## Runs",
        "",
        "| run | req/s | p50 ms | p99 ms | p99/p50 | errors | socket errors | server CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['name']} | {r['rate']:,.0f} | {r['p50_ms']} | {r['p99_ms']} | {r['tail_ratio']} "
            f"| {r['errors']} | {r['socket_errors']} | {r['cpu_us_per_request'] or '-'} |"
        )
    if results["profiles"]:
        names = list(results["profiles"])
        lines += [
            "",
            "## Where the time of a request goes (µs of server CPU per request)",
            "",
            "CPU µs per request (unprofiled run) x each layer's share of the py-spy samples "
            "(`--gil --native -r 250`).",
            "",
            "| layer | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
        ]
        for layer in LAYERS:
            cells = []
            for name in names:
                p = results["profiles"][name]
                us = p["us_per_request"].get(layer)
                cells.append(f"{us} ({p['share'][layer]:.0%})" if us is not None else "-")
            lines.append(f"| {layer} | " + " | ".join(cells) + " |")
        lines.append(
            "| **total** | "
            + " | ".join(f"**{results['profiles'][n]['cpu_us_per_request']}**" for n in names)
            + " |"
        )
        for name in names:
            p = results["profiles"][name]
            lines += ["", f"Top frames, {name} ({p['samples']} samples):", ""]
            lines += [f"- {count} `{frame}`" for frame, count in p["top_functions"]]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> tuple[Config, str | None, bool, Path]:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", default=dataset.DEFAULT_DATABASE_URL)
    parser.add_argument("--duration", type=int, default=8, help="seconds per run (8)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run (2)")
    parser.add_argument("--workers", type=int, default=None, help="default: one per server CPU")
    parser.add_argument("--server-cpus", default=None, help='taskset list, e.g. "0"; "none"')
    parser.add_argument("--load-cpus", default=None, help='taskset list, e.g. "1"; "none"')
    parser.add_argument(
        "--events", type=int, default=DEFAULT_EVENTS, help="generated if no data set is present"
    )
    parser.add_argument("--before", default=None, metavar="SRC", help="an older tree's src/")
    parser.add_argument("--no-profiles", action="store_true", help="skip py-spy")
    parser.add_argument("--results-dir", type=Path, default=run.DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    forwarded = [
        f"--database-url={args.database_url}",
        f"--events={args.events}",
        f"--duration={args.duration}",
        f"--warmup={args.warmup}",
        "--no-docs",
        "--no-explain",
        f"--results-dir={args.results_dir}",
    ]
    for name in ("workers", "server_cpus", "load_cpus"):
        value = getattr(args, name)
        if value is not None:
            forwarded.append(f"--{name.replace('_', '-')}={value}")
    return run.parse_args(forwarded), args.before, not args.no_profiles, args.results_dir


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, run._interrupted)
    cfg, before_tree, with_profiles, results_dir = parse_args(argv)
    for tool in ("wrk", "pgbench"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install -y {tool})")
    results = lean(cfg, before_tree, with_profiles)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "lean-path.json").write_text(json.dumps(results, indent=2) + "\n")
    (results_dir / "lean-path.md").write_text(render(results))
    say(f"wrote {results_dir / 'lean-path.md'} and lean-path.json")


if __name__ == "__main__":
    main()
