"""Compare two benchmark results (bench/results/*.json): one markdown row per workload.

    python bench/compare.py bench/results/before.json bench/results/after.json

For docs/benchmarks.md, "What each optimisation changed".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _cell(workload: dict[str, Any] | None) -> str:
    if workload is None:
        return "-"
    api = workload["api"]
    ratio = workload.get("ratio")
    probe = workload.get("latency_probe")
    text = f"{api['rate']:,.0f} req/s"
    if ratio is not None:
        text += f", {ratio:.2f}x"
    text += f", p50 {api['p50_ms']:.2f} ms"
    if probe:
        text += f" (1 conn: {probe['api']['p50_ms']:.2f} ms)"
    return text


def compare(before: dict[str, Any], after: dict[str, Any], name: str) -> list[str]:
    rows = []
    old = {w["id"]: w for w in before["workloads"]}
    new = {w["id"]: w for w in after["workloads"]}
    for workload_id in [*new, *(k for k in old if k not in new)]:
        rows.append(
            f"| {name} | `{before['git']['commit']}` -> `{after['git']['commit']}` "
            f"| {workload_id} | {_cell(old.get(workload_id))} | {_cell(new.get(workload_id))} |"
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--name", default="", help="the optimisation, for the first column")
    args = parser.parse_args(argv)
    before = json.loads(args.before.read_text())
    after = json.loads(args.after.read_text())
    print("| Optimisation | Commit | Workload | Before | After |")
    print("|---|---|---|---|---|")
    for row in compare(before, after, args.name):
        print(row)


if __name__ == "__main__":
    main()
