"""uvicorn's httptools protocol with the limits it lacks, for a server facing the network.

`events-api serve` passes `EdgeHttpProtocol` to uvicorn (`http=`), so the server defends itself
without a proxy in front:

- the request line is at most MAX_REQUEST_LINE_BYTES (414 above) and the whole request head
  (line and headers) at most MAX_HEADER_BYTES (431 above). Bytes are counted as they arrive,
  before the parser sees (and buffers) them, so a 100 MB header costs no more memory than a
  16 KB one;
- a request head not complete within HEADER_TIMEOUT_SECONDS of its first byte (or of the
  connection) ends the connection (408 if part of a head had arrived): no slowloris;
- a request the parser refuses is a 400. Each of these answers is CareCloud's error body with an
  X-Request-ID, like every other answer, and the connection is closed after it;
- a response's head goes out in the same write as its body (`HeadWithBody`), where uvicorn
  writes them apart: one send instead of two, and a server killed between the two can no longer
  leave a proxy with a head and no body, an answer it cannot pass on to another server.

The limits are read from the settings (core/settings.py) when the protocol is made; uvicorn makes
one protocol per connection in each worker, and imports this class by name in each worker.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, cast
from uuid import uuid4

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from events_api.core.errors import (
    AppError,
    BadRequest,
    HeadersTooLarge,
    InvalidParam,
    RequestTimeout,
    UriTooLong,
)
from events_api.core.i18n import negotiate
from events_api.core.observability import valid_request_id
from events_api.core.settings import get_settings

log = logging.getLogger("events_api.http")

HEAD_END = b"\r\n\r\n"
LINGER_SECONDS = 2.0


class HeadWithBody(asyncio.Transport):
    """One response cycle's transport: the head it writes waits for the first body write.

    uvicorn writes a response's status line and headers as soon as the app starts the response,
    and the body in a second write. Held here, the head joins the body in one write; it is
    written alone only if the response ends without a body write (HEAD) or the cycle closes.
    """

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        super().__init__()
        self.transport = transport
        self.cycle = cycle
        self.head: bytes | None = None
        self.head_written = False
        answered = cycle.on_response

        def on_response() -> None:
            self.flush()
            answered()

        cycle.on_response = on_response

    def write(self, data: bytes | bytearray | memoryview[int]) -> None:
        if self.head is not None:
            data, self.head = self.head + data, None
        elif self.cycle.response_started and not self.head_written:
            self.head, self.head_written = bytes(data), True  # the head: wait for the body
            return
        self.transport.write(data)

    def flush(self) -> None:
        if self.head is not None:
            head, self.head = self.head, None
            self.transport.write(head)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)


class EdgeHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_line = settings.max_request_line_bytes
        self.max_head = settings.max_header_bytes
        self.head_timeout = settings.header_timeout_seconds
        self.head_timer: asyncio.TimerHandle | None = None
        self.refused = False
        self._await_head()

    # -- the state of the request head being received -------------------------------------

    def _await_head(self) -> None:
        self.awaiting_head = True
        self.head_bytes = 0  # bytes of the current head received so far
        self.line_done = False  # its request line has ended
        self.tail = b""  # the last bytes of the head so far, to find a split \r\n\r\n

    def _start_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined head behind a response still being written: look again later
            self._start_head_timer()
            return
        log.warning("request head not complete in %gs: connection closed", self.head_timeout)
        if self.head_bytes:
            self._refuse(RequestTimeout(self.head_timeout))
        else:
            self.transport.close()

    # -- uvicorn's protocol interface ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))  # a stream transport
        self._start_head_timer()  # a connection that never sends a byte is dropped too

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.awaiting_head and not self._head_within_limits(data):
            return
        super().data_received(data)

    def _head_within_limits(self, data: bytes) -> bool:
        """Count `data` into the head being received; refuse the request past a limit."""
        self._start_head_timer()
        if not self.line_done:
            newline = data.find(b"\n")
            line = self.head_bytes + (len(data) if newline == -1 else newline)
            if line > self.max_line:
                self._refuse(UriTooLong(self.max_line))
                return False
            self.line_done = newline != -1
        window = self.tail + data
        end = window.find(HEAD_END)
        head = self.head_bytes + (len(data) if end == -1 else end + len(HEAD_END) - len(self.tail))
        if head > self.max_head:
            self._refuse(HeadersTooLarge(self.max_head))
            return False
        self.head_bytes = head
        self.tail = window[-(len(HEAD_END) - 1) :]
        return True

    def on_headers_complete(self) -> None:
        self.awaiting_head = False
        self._stop_head_timer()
        super().on_headers_complete()
        if self.cycle is not None and not isinstance(self.cycle.transport, HeadWithBody):
            # (an upgrade request makes no cycle: the last one is still there, or none)
            self.cycle.transport = HeadWithBody(self.transport, self.cycle)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._await_head()  # the next request on this connection; its timer starts with its bytes
        self.headers = []  # the scope keeps its own list; a refusal must not reuse its headers

    def send_400_response(self, msg: str) -> None:
        """The parser refused the request (uvicorn's answer is text/plain)."""
        log.warning("malformed HTTP request refused: %s", msg)
        self._refuse(
            BadRequest([InvalidParam("request", "invalid_value_format", None, "malformed_request")])
        )

    # -- answers ----------------------------------------------------------------------------

    def _header(self, name: bytes) -> str | None:
        """A header of the request head parsed so far, if any."""
        for key, value in self.headers or ():
            if key == name:
                return value.decode("latin-1")
        return None

    def _refuse(self, error: AppError) -> None:
        """Answer `error` in CareCloud's error body and close the connection."""
        self.refused = True
        self._stop_head_timer()
        if not isinstance(error, BadRequest):
            log.warning("request refused: %s %s", error.status_code, error.exception)
        request_id = self._header(b"x-request-id")
        if request_id is None or not valid_request_id(request_id):
            request_id = uuid4().hex
        body = json.dumps(
            error.body(negotiate(self._header(b"accept-language"))), ensure_ascii=False
        ).encode("utf-8")
        head = [STATUS_LINE[error.status_code]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        for field, text in error.headers().items():
            head += [field.encode("latin-1"), b": ", text.encode("latin-1"), b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"x-request-id: " + request_id.encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined request behind one still being answered: no answer can go in between
            self.transport.close()
            return
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            # Lingering close: send the answer and FIN, then read and drop what the client is
            # still sending for a moment, so that its kernel does not get a reset (which would
            # discard the answer) before the client could read it.
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
