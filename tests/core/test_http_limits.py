"""Protocol limits of `events-api serve` (core/http_protocol.py), on a real server process.

Huge headers, over-long URLs, slow heads and malformed requests are refused early in CareCloud's
error body with an X-Request-ID; ordinary requests and keep-alive still work.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from events_api.core.settings import API_PREFIX
from tests.fixtures.figures import record
from tests.fixtures.servers import ServedApi, served

HEADER_TIMEOUT = 2
MAX_HEADER_BYTES = 16_384


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    log = tmp_path_factory.mktemp("http-limits") / "server.log"
    env = {"HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT), "MAX_HEADER_BYTES": str(MAX_HEADER_BYTES)}
    with served(database_url, log, env=env) as api:
        yield api


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def connect(server: ServedApi) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return sock


_UNREAD: dict[int, bytes] = {}  # bytes read past a response, per socket (pipelining)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length (bounded by the socket's timeout)."""
    data = _UNREAD.pop(sock.fileno(), b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    if body[length:]:
        _UNREAD[sock.fileno()] = body[length:]
    return status, headers, body[:length]


def error_of(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    assert headers["content-type"].startswith("application/json")
    assert headers.get("x-request-id")
    error: dict[str, Any] = json.loads(body)["error"]
    assert set(error) == {"type", "exception", "title", "detail", "error_data"}
    return error


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed (EOF or reset), reading at most a few answers' worth."""
    for _ in range(100):
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, TimeoutError):
            return False
    return False


@pytest.mark.parametrize("size", [1 << 20, 100 << 20], ids=["1MB", "100MB"])
def test_a_huge_header_is_refused_with_431_early_and_memory_stays_flat(
    server: ServedApi, size: int
) -> None:
    before = rss_kib(server.process.pid)
    sock = connect(server)
    sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: en\r\nX-Big: ")
    chunk = b"a" * 65536
    sent = 0
    answered = False
    try:
        while sent < size:
            if select.select([sock], [], [], 0)[0]:
                answered = True
                break
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        answered = True
    status, headers, body = read_response(sock)
    sock.close()
    after = rss_kib(server.process.pid)
    record(
        "huge_header",
        size=size,
        sent_before_refusal=sent,
        rss_kib_before=before,
        rss_kib_after=after,
    )

    assert status == 431
    error = error_of(headers, body)
    assert error["exception"] == "request_header_fields_too_large_exception"
    assert str(MAX_HEADER_BYTES) in error["detail"]
    if size > 16 << 20:
        assert answered, "the server read a 100 MB header to its end"
        assert sent < 16 << 20, f"{sent} bytes were sent before the refusal"
    assert after - before < 10 * 1024, f"RSS grew from {before} to {after} KiB"
    assert httpx.get(f"{server.base_url}/health/live", timeout=10).status_code == 200


def test_an_over_long_url_gets_414_in_the_error_body(server: ServedApi) -> None:
    query = "&".join(f"event_type_ids[]=type{i:05d}" for i in range(10_000))  # ~250 KB
    sock = connect(server)  # raw: httpx refuses to send such a URL
    sock.sendall(f"GET {API_PREFIX}/events?{query} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
    status, headers, body = read_response(sock)
    sock.close()
    assert status == 414
    error = error_of(headers, body)
    assert error["exception"] == "uri_too_long_exception"
    assert error["error_data"] == {}


def test_a_header_just_under_the_limit_and_a_big_body_are_served(server: ServedApi) -> None:
    headers = {"X-Filler": "f" * (MAX_HEADER_BYTES - 1024), "Accept-Language": "en"}
    assert (
        httpx.get(f"{server.base_url}/health/live", headers=headers, timeout=10).status_code == 200
    )
    # a body arriving with its head in one read is not counted as head
    body = json.dumps({"event": {"external_id": "x" * 500_000}}).encode()
    response = httpx.post(
        f"{server.base_url}{API_PREFIX}/events",
        content=body,
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
        timeout=30,
    )
    assert response.status_code == 401, response.text


def test_a_slowloris_head_is_cut_off_with_408_after_the_timeout(server: ServedApi) -> None:
    sock = connect(server)
    sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: en\r\n")
    sock.settimeout(0.5)
    answer = b""
    lines_sent = 0
    # one header line every 0.5 s: the server must stop it within a bounded number of lines
    for lines_sent in range(1, 60):
        try:
            sock.sendall(b"X-Slow-%d: 1\r\n" % lines_sent)
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            answer = sock.recv(65536)
        except TimeoutError:
            continue
        break
    sock.settimeout(30)
    assert answer.startswith(b"HTTP/1.1 408"), (lines_sent, answer)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"x-request-id:" in head.lower()
    assert json.loads(body)["error"]["exception"] == "request_timeout_exception"
    assert lines_sent < 4 * HEADER_TIMEOUT * 2 + 4
    record("slowloris", header_timeout_s=HEADER_TIMEOUT, lines_sent_every_half_second=lines_sent)
    assert closed_by_server(sock)
    sock.close()


def test_a_connection_that_sends_nothing_is_closed(server: ServedApi) -> None:
    sock = connect(server)
    sock.settimeout(HEADER_TIMEOUT * 10)  # a bound for the wait; the server closes well before
    assert sock.recv(1024) == b""
    sock.close()


def test_a_malformed_request_gets_400_in_the_error_body(server: ServedApi) -> None:
    sock = connect(server)
    sock.sendall(b"NOT HTTP AT ALL\x00\r\n\r\n")
    status, headers, body = read_response(sock)
    sock.close()
    assert status == 400
    error = error_of(headers, body)
    assert error["exception"] == "bad_request_exception"
    assert error["error_data"]["invalid_params"][0]["name"] == "request"


def test_keep_alive_serves_several_requests_on_one_connection(server: ServedApi) -> None:
    sock = connect(server)
    for _ in range(3):
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, headers, _body = read_response(sock)
        assert status == 200
        assert headers.get("connection") != "close"
    # and two pipelined in one write
    sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: a\r\n\r\n" * 2)
    assert read_response(sock)[0] == 200
    assert read_response(sock)[0] == 200
    sock.close()
