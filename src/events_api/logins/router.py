"""POST /users/actions/login: no Authorization header; login and password (an API user's
token) from a registered external application, answered with a bearer token.

Refusals count against the failed-login limits (core/ratelimit.py) like a wrong Basic header.
The token row is the request's one write: a single INSERT, in a transaction of its own.
"""

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from events_api.api_users.service import AcceptedCredentials
from events_api.core.bodies import parse_json
from events_api.core.deps import StateDep
from events_api.core.errors import BadRequest, Forbidden, InvalidParam, TooManyRequests
from events_api.core.openapi import ERROR_RESPONSES, BasicErrorBody, body_schema
from events_api.core.params import text_problem
from events_api.core.schemas import Envelope
from events_api.core.settings import Settings
from events_api.core.timefmt import format_datetime
from events_api.logins import service

FIELDS = ("user_external_application_id", "login", "password")


class UserLoginBody(BaseModel):
    """Request body of POST /users/actions/login (documentation; read by the handler)."""

    user_external_application_id: str = Field(examples=["0193a5b3c2d1e4f5a6b7c8d9e0"])
    login: str = Field(examples=["shop"])
    password: str = Field(
        examples=["the API user's token"], json_schema_extra={"format": "password"}
    )


class User(BaseModel):
    user_id: str = Field(examples=["1"])
    login: str = Field(examples=["shop"])
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str | None = None
    user_role_ids: list[str] = Field(default_factory=list)
    store_id: str | None = None
    last_login: str | None = None


class UserLogin(BaseModel):
    bearer_token: str = Field(examples=["09359095c5da43c7ae11e710eabce49418715a6a"])
    valid_to: str = Field(examples=["2019-01-04 10:31:56"])
    user: User


def _read(body: Any, limit: int) -> dict[str, str]:
    if not isinstance(body, dict):
        raise BadRequest([InvalidParam("body", "invalid_value_format", body, "expected_object")])
    problems: list[InvalidParam] = []
    values: dict[str, str] = {}
    for name in FIELDS:
        value = body.get(name)
        if value is None:
            problems.append(InvalidParam(name, "required", None))
        elif not isinstance(value, str):
            problems.append(InvalidParam(name, "invalid_value_format", value, "expected_string"))
        elif value == "":
            problems.append(InvalidParam(name, "empty", value))
        elif problem := text_problem(value):
            shown = None if name == "password" else value
            problems.append(InvalidParam(name, "invalid_value_format", shown, problem))
        elif len(value) > limit and name != "password":
            problems.append(
                InvalidParam(name, "not_allowed_value", value, "too_long", {"limit": limit})
            )
        else:
            values[name] = value
    BadRequest.raise_if(problems)
    return values


def build_router(settings: Settings) -> APIRouter:
    """POST /users/actions/login, with the limits of this app's settings."""
    router = APIRouter(
        prefix="/users",
        tags=["Users"],
        responses={
            **{k: v for k, v in ERROR_RESPONSES.items() if k != 401},
            403: {"model": BasicErrorBody, "description": "Wrong login or password"},
        },
    )

    @router.post(
        "/actions/login",
        summary="User login",
        operation_id="postUserLogin",
        openapi_extra={**body_schema(UserLoginBody), "security": []},
    )
    async def user_login(request: Request, state: StateDep) -> Envelope[UserLogin]:
        fields = _read(parse_json(await request.body()), settings.max_string_length)
        login = fields["login"]
        throttle = state.throttle
        address = request.client.host if request.client else ""
        wait = throttle.retry_after(address, login)
        if wait is not None:
            raise TooManyRequests(retry_after=wait)
        try:
            done = await service.login(
                state.db,
                state.part(AcceptedCredentials),
                fields["user_external_application_id"],
                login,
                fields["password"][:1024],
                settings.bearer_token_hours,
            )
        except service.UnknownApplication:
            throttle.failed(address, login)
            raise BadRequest(
                [
                    InvalidParam(
                        "user_external_application_id",
                        "not_found",
                        fields["user_external_application_id"],
                        "application_not_found",
                    )
                ]
            ) from None
        except service.BadCredentials:
            throttle.failed(address, login)
            raise Forbidden() from None
        throttle.succeeded(address, login)
        valid_to = done.valid_to.astimezone(settings.tz).replace(tzinfo=None)
        return Envelope(
            data=UserLogin(
                bearer_token=done.token,
                valid_to=format_datetime(valid_to),
                user=User(user_id=str(done.api_user_id), login=done.login),
            )
        )

    return router
