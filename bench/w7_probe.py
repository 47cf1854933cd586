"""Issue 11's target for GET /customers/{customer_id}/events: p50 under 20 ms for a customer with
1,000 events among 10,000,000, one request at a time.

    python bench/generate.py --database-url postgresql://postgres@127.0.0.1:5432/events_w7 \\
        --events 10000000 --customers 10000          # 1,000 events a customer (~5 minutes)
    python bench/w7_probe.py --database-url postgresql://postgres@127.0.0.1:5432/events_w7

Starts `events-api serve` on that database, asks for the first page (count=100, with
total_items) of randomly chosen customers, and prints p50/p90/p99 of the answers' times.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import time

import httpx
import psycopg

API = "/rest-api/enterprise-interface/v1.0"


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "events_api.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": args.database_url, "LOG_LEVEL": "warning"}
    with psycopg.connect(args.database_url) as conn:
        total_row = conn.execute("SELECT count(*) FROM events").fetchone()
        customers = conn.execute(
            "SELECT customer_id, count(*) FROM events WHERE customer_id IN "
            "(SELECT customer_id FROM events TABLESAMPLE SYSTEM (0.01) LIMIT 50) GROUP BY 1"
        ).fetchall()
    if total_row is None or not customers:
        raise SystemExit("no events: generate them first")
    login = f"w7-probe-{int(time.time())}"
    token = cli(env, "api-user", "create", login).strip().splitlines()[-1]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "events_api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/health/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        times: list[float] = []
        with httpx.Client(base_url=base + API, auth=(login, token)) as client:
            for n in range(args.requests + 20):
                customer_id = random.choice(customers)[0]
                started = time.perf_counter()
                response = client.get(f"/customers/{customer_id}/events", params={"count": 100})
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                if n >= 20:  # warm-up
                    times.append(elapsed)
    finally:
        server.terminate()
        server.wait(30)
    times.sort()
    per_customer = statistics.median(count for _, count in customers)
    print(
        f"GET /customers/{{id}}/events?count=100 on {total_row[0]:,} events "
        f"(median {per_customer:,.0f} events a customer): p50 {statistics.median(times):.2f} ms, "
        f"p90 {times[int(len(times) * 0.9)]:.2f} ms, p99 {times[int(len(times) * 0.99)]:.2f} ms "
        f"over {len(times)} sequential requests"
    )


if __name__ == "__main__":
    main()
