"""OpenAPI pieces shared by routers: CareCloud's error bodies and hand-read request bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

REF = "#/components/schemas/{model}"


class InvalidParamOut(BaseModel):
    name: str = Field(examples=["event_type_id"])
    reason: str = Field(examples=["not_found"])
    value: str = Field(examples=["8bed991c68a470e7aaeffbf048"])
    message: str = Field(examples=["No event type with this ID exists."])


class BadRequestData(BaseModel):
    invalid_params: list[InvalidParamOut]


class NotFoundData(BaseModel):
    resource_name: str = Field(examples=["events"])
    resource_id: str = Field(examples=["84b5e55448fbd6c0b22b4d"])


class NotAllowedData(BaseModel):
    http_method: str = Field(examples=["DELETE"])


class _BasicError(BaseModel):
    type: str = Field(examples=["about:blank"])
    exception: str = Field(examples=["bad_request_exception"])
    title: str
    detail: str


class BadRequestError(_BasicError):
    error_data: BadRequestData


class NotFoundError(_BasicError):
    error_data: NotFoundData


class NotAllowedError(_BasicError):
    error_data: NotAllowedData


class BasicError(_BasicError):
    error_data: dict[str, Any] = Field(default_factory=dict)


class BadRequestErrorBody(BaseModel):
    error: BadRequestError


class NotFoundErrorBody(BaseModel):
    error: NotFoundError


class NotAllowedErrorBody(BaseModel):
    error: NotAllowedError


class BasicErrorBody(BaseModel):
    error: BasicError


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": BadRequestErrorBody, "description": "Bad input parameter"},
    401: {"model": BasicErrorBody, "description": "Missing or invalid credentials"},
    404: {"model": NotFoundErrorBody, "description": "The resource was not found"},
    405: {"model": NotAllowedErrorBody, "description": "Method not allowed"},
    413: {"model": BasicErrorBody, "description": "Request body too large"},
    429: {"model": BasicErrorBody, "description": "Too many failed logins (header Retry-After)"},
    500: {"model": BasicErrorBody, "description": "Server error"},
    503: {"model": BasicErrorBody, "description": "Service (database) unavailable"},
}


def component_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """Schemas of these models (and the models they use), for `components.schemas`."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a JSON body the handler reads itself (so auth runs first); the app
    adds the model to `components.schemas` (`component_schemas`)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
        }
    }
