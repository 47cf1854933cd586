"""One error hierarchy, rendered by one handler into CareCloud's error body.

{"error": {"type": "about:blank", "exception": ..., "title": ..., "detail": ..., "error_data": {...}}}
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from events_api.core.i18n import Lang, negotiate, text
from events_api.core.settings import get_settings

log = logging.getLogger("events_api.errors")

MAX_VALUE_CHARS = 200


def value_as_text(value: Any) -> str:
    """The `value` of an invalid_params entry is a string: render what the client sent."""
    if value is None:
        return ""
    rendered = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    # NUL and lone surrogates cannot go into a UTF-8 response as they are: escape them
    rendered = rendered.replace("\x00", "\\u0000")
    rendered = rendered.encode("utf-8", "backslashreplace").decode("utf-8")
    return rendered if len(rendered) <= MAX_VALUE_CHARS else rendered[:MAX_VALUE_CHARS] + "…"


@dataclass(frozen=True)
class InvalidParam:
    """One problem with one input parameter; `message` is an i18n key rendered per request."""

    name: str
    reason: str
    value: Any = None
    message: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: Lang) -> dict[str, Any]:
        return {
            "name": self.name,
            "reason": self.reason,
            "value": value_as_text(self.value),
            "message": text(self.message or self.reason, lang, **self.params),
        }


class AppError(Exception):
    status_code = 500
    exception = "internal_server_error_exception"
    key = "internal"

    def __init__(self, **detail_params: Any) -> None:
        super().__init__(self.key)
        self.detail_params = detail_params

    def error_data(self, lang: Lang) -> dict[str, Any]:
        return {}

    def headers(self) -> dict[str, str]:
        return {}

    def detail(self, lang: Lang) -> str:
        return text(f"{self.key}.detail", lang, **self.detail_params)

    def body(self, lang: Lang) -> dict[str, Any]:
        return {
            "error": {
                "type": "about:blank",
                "exception": self.exception,
                "title": text(f"{self.key}.title", lang),
                "detail": self.detail(lang),
                "error_data": self.error_data(lang),
            }
        }


class BadRequest(AppError):
    status_code = 400
    exception = "bad_request_exception"
    key = "bad_request"

    def __init__(self, invalid_params: list[InvalidParam]) -> None:
        super().__init__()
        self.invalid_params = invalid_params

    def error_data(self, lang: Lang) -> dict[str, Any]:
        return {"invalid_params": [p.render(lang) for p in self.invalid_params[:1000]]}

    @classmethod
    def raise_if(cls, *problem_lists: tuple[InvalidParam, ...] | list[InvalidParam]) -> None:
        problems = [problem for problems in problem_lists for problem in problems]
        if problems:
            raise cls(problems)


class Unauthorized(AppError):
    status_code = 401
    exception = "unauthorized_exception"
    key = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="events-api", charset="UTF-8"'}


class NotFound(AppError):
    status_code = 404
    exception = "not_found_exception"
    key = "not_found"

    def __init__(self, resource_name: str, resource_id: str) -> None:
        super().__init__(resource_name=resource_name, resource_id=resource_id)

    def error_data(self, lang: Lang) -> dict[str, Any]:
        return dict(self.detail_params)


class RouteNotFound(NotFound):
    def detail(self, lang: Lang) -> str:
        return text("route_not_found.detail", lang)


class MethodNotAllowed(AppError):
    status_code = 405
    exception = "method_not_allowed_exception"
    key = "method_not_allowed"

    def __init__(self, http_method: str, allow: str | None) -> None:
        super().__init__(http_method=http_method)
        self.allow = allow

    def error_data(self, lang: Lang) -> dict[str, Any]:
        return dict(self.detail_params)

    def headers(self) -> dict[str, str]:
        return {"Allow": self.allow} if self.allow else {}


class PayloadTooLarge(AppError):
    status_code = 413
    exception = "payload_too_large_exception"
    key = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(limit=limit)


class RequestTimeout(AppError):
    """The request head did not arrive within HEADER_TIMEOUT_SECONDS (core/http_protocol.py)."""

    status_code = 408
    exception = "request_timeout_exception"
    key = "request_timeout"

    def __init__(self, limit: float) -> None:
        super().__init__(limit=f"{limit:g}")


class UnsupportedMediaType(AppError):
    """A request body that is not declared `Content-Type: application/json`."""

    status_code = 415
    exception = "unsupported_media_type_exception"
    key = "unsupported_media_type"

    def __init__(self, content_type: str) -> None:
        super().__init__(content_type=value_as_text(content_type) or "-")


class UriTooLong(AppError):
    """The request line is longer than MAX_REQUEST_LINE_BYTES (core/http_protocol.py)."""

    status_code = 414
    exception = "uri_too_long_exception"
    key = "uri_too_long"

    def __init__(self, limit: int) -> None:
        super().__init__(limit=limit)


class HeadersTooLarge(AppError):
    """The request head is larger than MAX_HEADER_BYTES (core/http_protocol.py)."""

    status_code = 431
    exception = "request_header_fields_too_large_exception"
    key = "headers_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(limit=limit)


class TooManyRequests(AppError):
    """Too many failed logins from this address or for this login (core/ratelimit.py)."""

    status_code = 429
    exception = "too_many_requests_exception"
    key = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(AppError):
    status_code = 503
    exception = "service_unavailable_exception"
    key = "unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(get_settings().retry_after_seconds)}


class InternalError(AppError):
    pass


def render(error: AppError, accept_language: str | None) -> JSONResponse:
    lang = negotiate(accept_language)
    return JSONResponse(error.body(lang), status_code=error.status_code, headers=error.headers())


# -- mapping of pydantic / FastAPI validation errors ------------------------------------------

_REASONS = {
    "missing": "required",
    "string_too_short": "empty",
    "too_short": "empty",
    "string_too_long": "not_allowed_value",
    "too_long": "not_allowed_value",
    "greater_than": "not_allowed_value",
    "greater_than_equal": "not_allowed_value",
    "less_than": "not_allowed_value",
    "less_than_equal": "not_allowed_value",
    "literal_error": "not_allowed_value",
    "enum": "not_allowed_value",
}
KNOWN_REASONS = {
    "already_exists",
    "empty",
    "not_found",
    "required",
    "not_allowed_value",
    "invalid_value_format",
    "relation_already_exists",
}


def invalid_params_from(errors: list[Any]) -> list[InvalidParam]:
    """Turn pydantic error dicts into invalid_params, one per field."""
    params: list[InvalidParam] = []
    seen: set[tuple[str, ...]] = set()
    for err in errors:
        loc = tuple(str(part) for part in err.get("loc", ()) if part not in ("body", "query"))
        if loc in seen:
            continue
        seen.add(loc)
        names = [part for part in loc if not part.isdigit()]
        name = names[-1] if names else "body"
        err_type = str(err.get("type", ""))
        reason = err_type if err_type in KNOWN_REASONS else _REASONS.get(err_type)
        ctx = err.get("ctx") or {}
        message = ctx.get("message_key") if isinstance(ctx, dict) else None
        msg_params = ctx.get("message_params", {}) if isinstance(ctx, dict) else {}
        if reason is None:
            reason = "invalid_value_format"
        if message is None:
            message = {"empty": "empty", "required": "required"}.get(reason)
            if reason == "not_allowed_value":
                message, msg_params = "one_of", {"allowed": err.get("msg", "")}
        params.append(
            InvalidParam(
                name=name,
                reason=reason,
                value=err.get("input") if err_type != "missing" else None,
                message=message or "invalid_value_format",
                params=msg_params,
            )
        )
    return params


# -- handlers ------------------------------------------------------------------------------------

DB_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (the router only names the first route's)."""
    methods: set[str] = set()
    for regex, route_methods in getattr(request.app.state, "route_methods", ()):
        if regex.match(request.url.path):
            methods |= route_methods
    if "GET" in methods:
        methods.add("HEAD")  # core/http_rules.py HeadAsGet
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    async def app_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return render(exc, request.headers.get("accept-language"))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        error = BadRequest(invalid_params_from(list(exc.errors())))
        return render(error, request.headers.get("accept-language"))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        error: AppError
        if exc.status_code == 405:
            error = MethodNotAllowed(request.method, allowed_methods(request))
        elif exc.status_code == 404:
            error = RouteNotFound(resource_name=request.url.path, resource_id="")
        elif exc.status_code == 413:
            error = PayloadTooLarge(get_settings().max_body_bytes)
        elif exc.status_code == 401:
            error = Unauthorized()
        elif exc.status_code == 400:
            error = BadRequest([InvalidParam(name="body", reason="invalid_value_format")])
        else:
            error = InternalError()
        return render(error, request.headers.get("accept-language"))

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc).__name__)
        return render(ServiceUnavailable(), request.headers.get("accept-language"))

    async def data_error(request: Request, exc: Exception) -> JSONResponse:
        """A value PostgreSQL cannot take (NUL byte, out of range): the client's input, a 400.

        Validation should catch these first; this is the safety net, so they never become 500s.
        """
        log.warning("input refused by the database driver: %s", type(exc).__name__)
        problems = [
            InvalidParam(name.removesuffix("[]"), "invalid_value_format", value, "nul_character")
            for name, value in request.query_params.multi_items()
            if "\x00" in value
        ]
        error = BadRequest(problems or [InvalidParam("body", "invalid_value_format")])
        return render(error, request.headers.get("accept-language"))

    async def client_gone(request: Request, _exc: Exception) -> JSONResponse:
        """The client hung up while sending its body: nobody to answer, nothing to log loudly."""
        log.debug("client disconnected during %s %s", request.method, request.url.path)
        return render(BadRequest([InvalidParam("body", "invalid_value_format")]), None)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return render(InternalError(), request.headers.get("accept-language"))

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for exc_type in DB_UNAVAILABLE:
        app.add_exception_handler(exc_type, database_unavailable)
    app.add_exception_handler(sa_exc.DataError, data_error)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(Exception, unexpected)
