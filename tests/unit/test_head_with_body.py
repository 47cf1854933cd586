"""A response's head goes out in the same write as its body (core/http_protocol.py).

The protocol runs in-process on a transport that records each write, the unit a killed server
could leave half-sent: a proxy that got a head without its body cannot pass the request on.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from events_api.core.http_protocol import EdgeHttpProtocol


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview[int]) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    message = await receive()  # the request body (answers 100 Continue if it was asked for)
    body = b'{"data":"' + (message["body"] or scope["path"].encode()) + b'"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await asyncio.sleep(0)  # the head would be on the wire here without the holding
    await send({"type": "http.response.body", "body": body})


async def exchange(*parts: bytes) -> list[list[bytes]]:
    """Feed `parts` one after another; the writes made after each part."""
    config = Config(app=app, access_log=False, log_config=None, lifespan="off")
    config.load()
    protocol = EdgeHttpProtocol(config, ServerState(), {})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    steps = []
    for part in parts:
        protocol.data_received(part)
        for _ in range(10):
            await asyncio.sleep(0)
        steps.append(transport.writes)
        transport.writes = []
    protocol.connection_lost(None)
    return steps


def test_head_and_body_leave_in_one_write() -> None:
    [[write]] = asyncio.run(exchange(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"))
    head, _, body = write.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 13" in head
    assert body == b'{"data":"/a"}'


def test_each_pipelined_response_is_one_write() -> None:
    [writes] = asyncio.run(
        exchange(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /bb HTTP/1.1\r\nHost: x\r\n\r\n")
    )
    assert [w.partition(b"\r\n\r\n")[2] for w in writes] == [b'{"data":"/a"}', b'{"data":"/bb"}']


def test_a_head_request_sends_its_head_alone_when_the_response_ends() -> None:
    [[write]] = asyncio.run(exchange(b"HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert write.startswith(b"HTTP/1.1 200 OK\r\n")
    assert write.endswith(b"content-length: 13\r\n\r\n")


def test_100_continue_is_not_held_back() -> None:
    head = b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    waiting, [answer] = asyncio.run(exchange(head, b"hi"))
    assert waiting == [b"HTTP/1.1 100 Continue\r\n\r\n"]  # sent while the app waits for the body
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b'\r\n\r\n{"data":"hi"}')
