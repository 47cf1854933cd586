"""The benchmark suite still works: `bench/run.py --quick` on tiny data, end to end.

It generates 2,000 events, starts the server, runs every workload under wrk and pgbench for a
second each, a short soak, the EXPLAIN capture and the correctness checks, and writes its
results. Only that it works is asserted (numbers present, no errors); timings never are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.pgcluster import embedded_run_only

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ["W1", "W2", "W3", "W3-desc", "W4", "W5", "WB", "W7", "W6"]

pytestmark = [
    pytest.mark.skipif(
        shutil.which("wrk") is None or shutil.which("pgbench") is None,
        reason="the benchmark smoke run needs wrk and pgbench (apt-get install wrk postgresql-15)",
    ),
    embedded_run_only("checks the benchmark tools, whatever the server"),
]


def test_quick_run_measures_every_workload(scratch_url: str, tmp_path: Path) -> None:
    # scratch_url: an empty database of the test's own, dropped afterwards
    command = [
        sys.executable,
        str(ROOT / "bench" / "run.py"),
        "--quick",
        "--duration=1",
        "--soak=1",
        f"--database-url={scratch_url}",
        f"--results-dir={tmp_path}",
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"

    assert (tmp_path / "latest.md").read_text().startswith("# Benchmark results")
    plans = (tmp_path / "plans.md").read_text()
    assert "#### W2" in plans
    assert "Index" in plans
    assert "ERROR" not in plans
    results = json.loads((tmp_path / "latest.json").read_text())
    assert [w["id"] for w in results["workloads"]] == WORKLOADS
    for workload in results["workloads"]:
        for side in ("api", "pgbench"):
            run = workload[side]
            label = f"{workload['id']} {side}"
            assert run["failure"] is None, label
            assert run["count"] > 0, label
            assert run["rate"] > 0, label
            assert run["p50_ms"] > 0, label
            assert run["errors"] == 0, f"{label}: {run['details']}"
        assert workload["ratio"] is not None
        assert workload["server_rss"]["max_total_mb"] > 0
    for workload_id in ("W4", "W6"):
        probe = next(w for w in results["workloads"] if w["id"] == workload_id)
        assert probe["latency_probe"]["api"]["p50_ms"] > 0
        assert probe["latency_probe"]["pgbench"]["p50_ms"] > 0
    assert results["checks"]
    assert all(check["ok"] for check in results["checks"]), results["checks"]
    assert results["soak"]["load"]["count"] > 0
    assert results["soak"]["load"]["errors"] == 0
    assert results["soak"]["samples"]
    for key in ("cpu_model", "cores", "ram_gib", "kernel", "postgresql", "python"):
        assert results["machine"][key]
    assert results["git"]["commit"]
