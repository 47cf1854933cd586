"""Every error the app raises, rendered as CareCloud's error body; never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from events_api.core.errors import (
    DB_UNAVAILABLE,
    AppError,
    BadRequest,
    InternalError,
    InvalidParam,
    MethodNotAllowed,
    RouteNotFound,
    ServiceUnavailable,
)
from events_api.core.i18n import negotiate
from events_api.core.routes import RouteTable, route_path

log = logging.getLogger("events_api.errors")


def render(error: AppError, accept_language: str | None) -> JSONResponse:
    lang = negotiate(accept_language)
    return JSONResponse(error.body(lang), status_code=error.status_code, headers=error.headers())


def install_error_handlers(app: FastAPI, routes: RouteTable, retry_after: int) -> None:
    """`routes`: the app's routes (405's `Allow` names every method served at the path)."""

    def answer(request: Request, error: AppError) -> JSONResponse:
        return render(error, request.headers.get("accept-language"))

    async def app_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return answer(request, exc)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        """Starlette's own answers: no route (404) or no such method on a route (405)."""
        assert isinstance(exc, StarletteHTTPException)
        error: AppError
        if exc.status_code == 405:
            error = MethodNotAllowed(
                request.method, routes.allowed_methods(route_path(request.scope))
            )
        elif exc.status_code == 404:
            error = RouteNotFound(resource_name=request.url.path, resource_id="")
        else:
            error = InternalError()
        return answer(request, error)

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc).__name__)
        return answer(request, ServiceUnavailable(retry_after))

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
        return answer(
            request, BadRequest(problems or [InvalidParam("body", "invalid_value_format")])
        )

    async def client_gone(request: Request, _exc: Exception) -> JSONResponse:
        """The client hung up while sending its body: nobody to answer, nothing to log loudly."""
        log.debug("client disconnected during %s %s", request.method, request.url.path)
        return render(BadRequest([InvalidParam("body", "invalid_value_format")]), None)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return answer(request, InternalError())

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for exc_type in DB_UNAVAILABLE:
        app.add_exception_handler(exc_type, database_unavailable)
    app.add_exception_handler(sa_exc.DataError, data_error)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(Exception, unexpected)
