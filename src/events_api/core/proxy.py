"""Behind a reverse proxy: X-Forwarded-For/-Proto/-Prefix, trusted only from known proxies.

`X-Forwarded-For` and `X-Forwarded-Proto` are applied by uvicorn's own ProxyHeadersMiddleware;
`X-Forwarded-Prefix` (the path the proxy serves the API under, e.g. `/webservice`) by
`ForwardedPrefix` below, which sets the ASGI `root_path` so that OpenAPI, /docs and every URL the
app builds carry the prefix. Both trust the same FORWARDED_ALLOW_IPS and look at the address of
the direct peer, so a client that talks to the server directly cannot forge them.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from events_api.core.routes import route_path
from events_api.core.settings import API_PREFIX, ROOT_PATH, parse_trusted_hosts

__all__ = ["ForwardedPrefix", "PathAlias", "TrustedProxies", "proxy_middleware"]

_HEADER = b"x-forwarded-prefix"


class TrustedProxies:
    """Membership test for FORWARDED_ALLOW_IPS (IP addresses, networks or `*`)."""

    def __init__(self, spec: str) -> None:
        hosts = parse_trusted_hosts(spec)
        self.everyone = "*" in hosts
        self.networks = [ipaddress.ip_network(h, strict=False) for h in hosts if h != "*"]
        # The same few peers (the proxies, the clients) ask again and again: parsing an address
        # each time cost ~5 % of a GET /events/{id} (docs/benchmarks.md).
        self._trusts = functools.lru_cache(maxsize=4096)(self._compute)

    def __contains__(self, host: object) -> bool:
        if self.everyone:
            return True
        if not isinstance(host, str):
            return False
        return self._trusts(host)

    def _compute(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


class ForwardedPrefix:
    """Take `X-Forwarded-Prefix` from a trusted proxy (or else ROOT_PATH) as the `root_path`.

    Works whether the proxy strips the prefix (`/webservice/x` arrives as `/x`) or forwards the
    path as it is.
    """

    def __init__(self, app: ASGIApp, trusted: TrustedProxies, root_path: str = "") -> None:
        self.app = app
        self.trusted = trusted
        self.root_path = root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            prefix = None
            client = scope.get("client")
            if client and client[0] in self.trusted:
                prefix = self._header_prefix(scope)
            if prefix is None and self.root_path and not scope.get("root_path"):
                prefix = self.root_path
            if prefix is not None:
                scope = self._rebase(scope, prefix)
        await self.app(scope, receive, send)

    @staticmethod
    def _header_prefix(scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == _HEADER:
                prefix: str = value.decode("latin-1").split(",", 1)[0].strip().rstrip("/")
                if prefix == "" or ROOT_PATH.fullmatch(prefix):
                    return prefix
                return None  # not a plain path: ignored
        return None

    @staticmethod
    def _rebase(scope: Scope, prefix: str) -> Scope:
        """The same request as if the server had been started with `root_path=prefix`."""
        scope = dict(scope)
        path: str = scope["path"]
        raw_path = scope.get("raw_path")
        old_root: str = scope.get("root_path", "")
        if old_root and _under(path, old_root):
            path = path[len(old_root) :]
            if isinstance(raw_path, bytes) and raw_path.startswith(old_root.encode()):
                raw_path = raw_path[len(old_root.encode()) :]
        scope["root_path"] = prefix
        if prefix and not _under(path, prefix):
            path = prefix + path
            if isinstance(raw_path, bytes):
                raw_path = prefix.encode() + raw_path
        scope["path"] = path
        if isinstance(raw_path, bytes):
            scope["raw_path"] = raw_path
        return scope


class PathAlias:
    """Serve the API under `alias` too (`/webservice/rest-api/...`, CareCloud's own URLs), as if
    a proxy served it there: `alias` joins the `root_path`, so routing, the route templates of
    metrics and logs, the body limits, authentication and every error see the API's own path.
    Only paths under `alias` + `api_prefix` are concerned (not /docs, /health or /metrics)."""

    def __init__(self, app: ASGIApp, alias: str, api_prefix: str) -> None:
        self.app = app
        self.alias = alias
        self.aliased = alias + api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and _under(route_path(scope), self.aliased):
            root: str = scope.get("root_path", "")
            scope = dict(scope)
            path: str = scope["path"]
            if not path.startswith(root):  # a server that leaves root_path out of path
                scope["path"] = root + path
                raw_path = scope.get("raw_path")
                if isinstance(raw_path, bytes):
                    scope["raw_path"] = root.encode() + raw_path
            scope["root_path"] = root + self.alias
        await self.app(scope, receive, send)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def proxy_middleware(
    app: ASGIApp, forwarded_allow_ips: str, root_path: str = "", alias: str = ""
) -> ASGIApp:
    """Prefix first (it must see the proxy's own address), then the path alias (on the path as
    the proxy left it), then uvicorn's For/Proto handling."""
    # uvicorn types ASGI apps with its own (equivalent) protocol classes
    inner = cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, app), trusted_hosts=forwarded_allow_ips))
    if alias:
        inner = PathAlias(inner, alias, API_PREFIX)
    return ForwardedPrefix(inner, TrustedProxies(forwarded_allow_ips), root_path)
