"""A real nginx (Debian's package) on loopback in front of a real `events-api serve`.

The server runs with two workers on the test database; nginx runs deploy/nginx/events-api.conf,
the file docker-compose.yml uses, with only its two addresses changed to loopback ports. Checked
through the proxy: the API under /webservice, OpenAPI and /docs URLs, request ids, the client
address from X-Forwarded-For; and on the server: JSON access logs without secrets, and /metrics
adding up both workers (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from events_api.core.settings import API_PREFIX, get_settings
from tests.core.test_observability import value
from tests.fixtures.helpers import ROOT, basic, event_body

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)
NGINX_CONF = ROOT / "deploy" / "nginx" / "events-api.conf"
WORKERS = 2
EVENTS = API_PREFIX + "/events"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Served:
    url: str
    log: Path

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`events-api serve` with two workers on a free port; its stderr in a file."""
    work = tmp_path_factory.mktemp("serve")
    port = free_port()
    log = work / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "info",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "events_api.cli", "serve", "--port", str(port)]
            + ["--workers", str(WORKERS)],
            cwd=work,  # nothing from the project folder is needed
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: (
                process.poll() is None
                and httpx.get(url + "/health/ready", timeout=2).status_code == 200
            ),
            "the server to be ready",
        )
        yield Served(url, log)
    except AssertionError:
        stop(process)
        raise AssertionError("server did not start:\n" + log.read_text()) from None
    finally:
        stop(process)


@pytest.fixture(scope="module")
def proxy(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx with the deployment's server block, on a free loopback port; its base URL."""
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does it)")
    work = tmp_path_factory.mktemp("nginx")
    port = free_port()
    backend = served.url.removeprefix("http://")
    server_block = NGINX_CONF.read_text(encoding="utf-8")
    assert "server api:8000 " in server_block
    assert "listen 8080;" in server_block
    server_block = server_block.replace("server api:8000 ", f"server {backend} ")
    server_block = server_block.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (work / "events-api.conf").write_text(server_block, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"  {kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    (work / "nginx.conf").write_text(
        f"""{user}worker_processes 1;
daemon off;
pid {work / "nginx.pid"};
error_log {work / "error.log"} info;
events {{ worker_connections 64; }}
http {{
  access_log {work / "access.log"};
{temp}
  uwsgi_temp_path {work / "uwsgi"};
  scgi_temp_path {work / "scgi"};
  include {work / "events-api.conf"};
}}
""",
        encoding="utf-8",
    )
    test = subprocess.run(
        [NGINX, "-t", "-p", str(work), "-c", str(work / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert test.returncode == 0, test.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(work), "-c", str(work / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: httpx.get(url + "/webservice/health/live", timeout=2).status_code == 200,
            "nginx to proxy",
            timeout=30,
        )
        yield url
    except AssertionError:
        errors = (work / "error.log").read_text() if (work / "error.log").exists() else ""
        raise AssertionError("nginx did not start:\n" + errors) from None
    finally:
        stop(process, signal.SIGQUIT)


def access_records(served: Served) -> list[dict[str, Any]]:
    records = []
    for line in served.log_lines():
        if '"events_api.access"' in line:
            records.append(json.loads(line))
    return records


# --- through nginx -------------------------------------------------------------------------


def test_api_works_under_webservice(
    proxy: str, served: Served, credentials: tuple[str, str], catalog: None
) -> None:
    auth = basic(*credentials)
    base = f"{proxy}/webservice{API_PREFIX}"
    created = httpx.post(
        base + "/events",
        json=event_body("through-nginx"),
        headers={**auth, "X-Request-ID": "nginx-test-1", "X-Forwarded-For": "203.0.113.9"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["x-request-id"] == "nginx-test-1"
    event_id = created.json()["data"]["event_id"]

    fetched = httpx.get(f"{base}/events/{event_id}", headers=auth)
    assert fetched.status_code == 200
    assert fetched.json()["data"]["external_id"] == "through-nginx"
    assert re.fullmatch(r"[0-9a-f]{32}", fetched.headers["x-request-id"])  # nginx's $request_id

    unauthorized = httpx.get(base + "/events")
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["exception"] == "unauthorized_exception"

    # the server logged the POST once, by template, with the id and the client behind nginx
    def logged() -> list[dict[str, Any]]:
        return [r for r in access_records(served) if r.get("request_id") == "nginx-test-1"]

    wait_until(lambda: logged(), "the access log line", timeout=10)
    (line,) = logged()
    assert line["method"] == "POST"
    assert line["path"] == EVENTS
    assert line["status"] == 201
    assert line["client"] == "203.0.113.9"  # X-Forwarded-For, trusted from nginx (127.0.0.1)
    assert line["api_user"] == "tester"

    text = served.log.read_text(encoding="utf-8")
    assert credentials[1] not in text
    assert auth["Authorization"].split()[1] not in text


def test_openapi_and_docs_point_under_webservice(proxy: str) -> None:
    schema = httpx.get(proxy + "/webservice/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["servers"] == [{"url": "/webservice"}]
    assert EVENTS in schema.json()["paths"]
    docs = httpx.get(proxy + "/webservice/docs")
    assert docs.status_code == 200
    assert "'/webservice/openapi.json'" in docs.text
    redirect = httpx.get(proxy + "/webservice")
    assert redirect.status_code == 301
    assert redirect.headers["location"].endswith("/webservice/docs")


def test_health_through_nginx_and_metrics_kept_inside(proxy: str) -> None:
    ready = httpx.get(proxy + "/webservice/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert httpx.get(proxy + "/webservice/metrics").status_code == 404


# --- the server itself ---------------------------------------------------------------------


def test_metrics_add_up_every_worker(served: Served) -> None:
    pool_size = get_settings().db_pool_size

    def scrape() -> str:
        response = httpx.get(served.url + "/metrics", timeout=5)
        assert response.status_code == 200
        return response.text

    # each worker's pool shows up once it has started: the gauges are summed over workers
    wait_until(
        lambda: value(scrape(), "events_api_db_pool_size") == WORKERS * pool_size,
        f"both workers' pools ({WORKERS} x {pool_size})",
        timeout=30,
    )
    labels = {"handler": "/health/live", "method": "GET", "status": "200"}
    before = value(scrape(), "http_requests_total", **labels)
    with httpx.Client(base_url=served.url) as client:  # new connections spread over workers
        for _ in range(20):
            assert client.get("/health/live", headers={"Connection": "close"}).is_success
    # every scrape, whichever worker answers it, counts all 20
    for _ in range(4):
        assert value(scrape(), "http_requests_total", **labels) - before == 20


def test_server_logs_are_json_lines(served: Served) -> None:
    httpx.get(served.url + "/health/live")
    lines = [line for line in served.log_lines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]  # every line, uvicorn's own included
    assert any(r["logger"].startswith("uvicorn") for r in records)
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
        assert "color_message" not in record
    # uvicorn's own access log is off: one line per request, ours
    assert not any(r["logger"] == "uvicorn.access" for r in records)
