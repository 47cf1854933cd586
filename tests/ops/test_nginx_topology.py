"""Two `events-api serve` processes (two workers each) behind one real nginx (Debian's).

nginx runs deploy/nginx/events-api.conf with its one upstream `server` line made two (same
parameters: passive health checks with max_fails/fail_timeout) and `listen` on a loopback port.
Under a bounded mixed load through nginx, one server is SIGKILLed (its whole process group):
GETs keep succeeding (nginx passes them to the other server), POSTs in flight on the killed one
fail visibly (502) and are never retried (no `non_idempotent`), and every event answered 201 is
in the database. The server is started again on its port and traffic returns to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events_api.cli import per_worker_limit
from events_api.core.settings import API_PREFIX
from tests.fixtures.figures import record
from tests.fixtures.helpers import ROOT, basic
from tests.fixtures.loadgen import purchase_body
from tests.fixtures.servers import ServedApi, free_port, served

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)
NGINX_CONF = ROOT / "deploy" / "nginx" / "events-api.conf"
UPSTREAM_LINE = re.compile(r"server api:8000( [^;]*)?;")
SERVER_ENV = {"FORWARDED_ALLOW_IPS": "127.0.0.1", "LOG_LEVEL": "info", "DB_POOL_SIZE": "4"}


@contextlib.contextmanager
def nginx(backends: list[str], work: Path) -> Iterator[str]:
    """nginx with the deployment's server block and `backends` as its upstream; base URL."""
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does it)")
    port = free_port()
    block = NGINX_CONF.read_text(encoding="utf-8")
    found = UPSTREAM_LINE.search(block)
    assert found is not None, "no `server api:8000 ...;` line in the upstream"
    parameters = found.group(1) or ""
    servers = "\n    ".join(f"server {backend}{parameters};" for backend in backends)
    block = block.replace(found.group(0), servers).replace(
        "listen 8080;", f"listen 127.0.0.1:{port};"
    )
    (work / "events-api.conf").write_text(block, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "\n".join(
        f"  {kind}_temp_path {work / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (work / "nginx.conf").write_text(
        f"""{user}worker_processes 1;
daemon off;
pid {work / "nginx.pid"};
error_log {work / "error.log"} info;
events {{ worker_connections 256; }}
http {{
  log_format upstreams '$request_method $status $upstream_addr $upstream_status';
  access_log {work / "access.log"} upstreams;
{temps}
  include {work / "events-api.conf"};
}}
""",
        encoding="utf-8",
    )
    config = [NGINX, "-p", str(work), "-c", str(work / "nginx.conf")]
    checked = subprocess.run([*config, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(config, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/webservice/health/live", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, (work / "error.log").read_text()
            time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def sigkill(server: ServedApi) -> None:
    """The server and its workers, all at once (they share its process group)."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def access_count(server: ServedApi) -> int:
    return sum(1 for line in server.log().splitlines() if '"events_api.access"' in line)


@dataclass
class Answer:
    method: str
    status: int  # 0: no HTTP answer
    started: float
    ended: float
    key: str = ""
    event_id: str | None = None
    error: str | None = None  # the client's transport error, for status 0


@dataclass
class MixedLoad:
    answers: list[Answer] = field(default_factory=list)
    stop: bool = False
    posted: int = 0

    async def poster(self, client: httpx.AsyncClient, prefix: str) -> None:
        while not self.stop:
            self.posted += 1
            key = f"{prefix}-{self.posted}"
            started = time.monotonic()
            try:
                response = await client.post("/events", json=purchase_body(key))
                status = response.status_code
                event_id = response.json()["data"]["event_id"] if status == 201 else None
            except httpx.HTTPError:
                status, event_id = 0, None
            self.answers.append(Answer("POST", status, started, time.monotonic(), key, event_id))

    async def getter(self, client: httpx.AsyncClient) -> None:
        while not self.stop:
            started = time.monotonic()
            created = [a.event_id for a in self.answers[-50:] if a.event_id]
            path = f"/events/{created[-1]}" if created and len(self.answers) % 2 else "/events"
            error = None
            try:
                status = (await client.get(path, params={"count": 5})).status_code
            except httpx.HTTPError as exc:
                status, error = 0, f"{type(exc).__name__}: {exc}"
            self.answers.append(Answer("GET", status, started, time.monotonic(), error=error))

    def statuses(self, method: str) -> dict[int, int]:
        counts: dict[int, int] = {}
        for answer in self.answers:
            if answer.method == method:
                counts[answer.status] = counts.get(answer.status, 0) + 1
        return counts


def test_each_worker_gets_its_share_of_the_failed_login_limits() -> None:
    assert per_worker_limit(20, 2) == 10
    assert per_worker_limit(3, 2) == 2  # rounded up
    assert per_worker_limit(1, 4) == 1  # at least one
    assert per_worker_limit(0, 4) == 0  # 0 means no limit, and stays so
    assert per_worker_limit(10, 1) == 10


def test_served_workers_divide_the_failed_login_limit(database_url: str, tmp_path: Path) -> None:
    """One keep-alive connection stays on one worker: it sees that worker's share (4 / 2)."""
    env = {"AUTH_FAILURES_PER_ADDRESS": "4", "AUTH_FAILURES_PER_LOGIN": "0"}
    with (
        served(database_url, tmp_path / "server.log", workers=2, env=env) as server,
        httpx.Client(base_url=server.base_url + API_PREFIX) as client,
    ):
        statuses = [
            client.get("/events", headers=basic("nobody", "wrong")).status_code for _ in range(5)
        ]
    assert statuses == [401, 401, 429, 429, 429]


async def test_one_of_two_servers_killed_under_mixed_load_through_nginx(
    database_url: str,
    engine: AsyncEngine,
    catalog: None,
    credentials: tuple[str, str],
    tmp_path: Path,
) -> None:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does it)")
    port_a = free_port()
    env = SERVER_ENV
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(
            served(database_url, tmp_path / "a.log", workers=2, env=env, port=port_a)
        )
        b = stack.enter_context(served(database_url, tmp_path / "b.log", workers=2, env=env))
        work = tmp_path / "nginx"
        work.mkdir()
        proxy = stack.enter_context(nginx([f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"], work))
        client = httpx.AsyncClient(
            base_url=f"{proxy}/webservice{API_PREFIX}",
            headers={**basic(*credentials), "Accept-Language": "en"},
            timeout=httpx.Timeout(30),
            limits=httpx.Limits(max_connections=16),
        )
        load = MixedLoad()
        async with client:
            workers = [
                *(asyncio.create_task(load.poster(client, f"p{n}")) for n in range(4)),
                *(asyncio.create_task(load.getter(client)) for _ in range(4)),
            ]
            try:
                await asyncio.sleep(2)
                before_a = access_count(a)
                assert before_a > 0, "server A got no traffic before the kill"
                assert access_count(b) > 0, "server B got no traffic before the kill"
                killed_at = time.monotonic()
                await asyncio.to_thread(sigkill, a)
                await asyncio.sleep(3)
                restarted = stack.enter_context(
                    served(database_url, tmp_path / "a2.log", workers=2, env=env, port=port_a)
                )
                restarted_at = time.monotonic()
                # nginx tries the server again once fail_timeout (5 s) has passed
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and access_count(restarted) < 50:
                    await asyncio.sleep(0.2)
                back_on_a = access_count(restarted)
                back_after = time.monotonic() - restarted_at
            finally:
                load.stop = True
                await asyncio.gather(*workers)
        metrics = {
            name: httpx.get(f"{server.base_url}/metrics", timeout=10).text
            for name, server in (("a", restarted), ("b", b))
        }

    gets, posts = load.statuses("GET"), load.statuses("POST")
    errors = [a.error for a in load.answers if a.method == "GET" and a.error]
    assert set(gets) == {200}, f"a GET failed: {gets} {errors[:3]}"
    assert set(posts) <= {201, 502, 503}, posts
    assert posts.get(201, 0) > 0
    assert back_on_a >= 50, f"traffic did not return to the restarted server ({back_on_a})"
    failed_posts = [p for p in load.answers if p.method == "POST" and p.status != 201]
    for answer in failed_posts:  # only POSTs that were on their way when the server died
        assert answer.started < killed_at + 1.0, answer
    created = {a.key: a.event_id for a in load.answers if a.status == 201 and a.event_id}
    failed_keys = [a.key for a in failed_posts]
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT external_id, event_id FROM events WHERE external_id = ANY(:keys)"),
            {"keys": list(created) + failed_keys},
        )
        stored = {row[0]: row[1] for row in rows}
    missing = [key for key, event_id in created.items() if stored.get(key) != event_id]
    assert not missing, f"answered 201 but missing: {missing[:5]}"

    # one scrape per server; the worker processes of each are told apart
    for name, server in (("a", restarted), ("b", b)):
        infos = re.findall(r"events_api_process_info\{([^}]*)\} 1\.0", metrics[name])
        labels = [dict(re.findall(r'(\w+)="([^"]*)"', info)) for info in infos]
        assert {label["instance"].rsplit(":", 1)[1] for label in labels} == {str(server.port)}
        assert len({label["pid"] for label in labels}) == 2, labels

    record(
        "nginx_two_servers_one_sigkilled",
        gets=sum(gets.values()),
        gets_failed=sum(n for status, n in gets.items() if status != 200),
        posts=sum(posts.values()),
        posts_201=posts.get(201, 0),
        posts_502=posts.get(502, 0),
        posts_503=posts.get(503, 0),
        posts_no_answer=posts.get(0, 0),
        committed_though_failed=sum(1 for key in failed_keys if key in stored),
        events_missing=0,
        requests_on_restarted_server=back_on_a,
        traffic_back_after_s=round(back_after, 2),
    )
