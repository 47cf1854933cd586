"""One error hierarchy; core/error_handlers.py renders it into CareCloud's error body.

{"error": {"type": "about:blank", "exception": ..., "title": ..., "detail": ..., "error_data": {...}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc as sa_exc

from events_api.core.i18n import Lang, text

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


class Forbidden(AppError):
    """Refused credentials where the spec has no 401 (POST /users/actions/login)."""

    status_code = 403
    exception = "forbidden_exception"
    key = "forbidden"


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

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InternalError(AppError):
    pass


# CareCloud's `reason` codes of invalid_params: every 400 uses one of these.
KNOWN_REASONS = frozenset(
    {
        "already_exists",
        "empty",
        "not_found",
        "required",
        "not_allowed_value",
        "invalid_value_format",
        "relation_already_exists",
    }
)

# Driver errors that mean the database cannot be reached (answered 503).
DB_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
