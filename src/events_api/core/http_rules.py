"""Pure ASGI middleware for HTTP rules every route follows, so new routes get them for free.

- `HeadAsGet`: HEAD on any GET resource answers exactly as GET would (status, headers,
  Content-Length), without the body (RFC 9110 9.3.2). The routes declare GET only, so the
  OpenAPI document is unchanged; metrics and the access log count a HEAD as its GET.
- `JsonBodiesOnly`: a request that carries a body with POST, PUT or PATCH must declare it
  `Content-Type: application/json` (any letter case; parameters allowed, but a charset must be
  UTF-8, the only encoding of JSON). Anything else, a missing Content-Type included, is a 415
  `unsupported_media_type_exception`, answered before authentication and before the body is
  read. Structured suffixes such as `application/problem+json` are refused too: CareCloud's API
  documents application/json only. This keeps browsers' cross-site "simple" requests (forms,
  text/plain) from ever creating anything.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events_api.core.error_handlers import render
from events_api.core.errors import UnsupportedMediaType

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
UTF8 = frozenset({"utf-8", "utf8"})


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def is_json(content_type: str) -> bool:
    """`application/json`, with parameters, a charset only if UTF-8."""
    media_type, *params = (part.strip().lower() for part in content_type.split(";"))
    if media_type != "application/json":
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in UTF8:
            return False
    return True


def has_body(headers: dict[bytes, bytes]) -> bool:
    length = headers.get(b"content-length")
    return b"transfer-encoding" in headers or (length is not None and length.strip() != b"0")


class JsonBodiesOnly:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in BODY_METHODS:
            headers = dict(scope["headers"])
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if has_body(headers) and not is_json(content_type):
                language = headers.get(b"accept-language", b"").decode("latin-1") or None
                await render(UnsupportedMediaType(content_type), language)(scope, receive, send)
                return
        await self.app(scope, receive, send)
