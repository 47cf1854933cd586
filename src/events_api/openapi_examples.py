"""Request and response examples for the interactive docs (/docs), from CareCloud's own docs.

The success examples are CareCloud's documented requests and responses (the seed's POST body, its
list and detail answers); the error examples are rendered by the very classes that answer errors,
so they cannot drift from what the server sends. They are attached to the generated OpenAPI by
operation id, after FastAPI built it (main.create_app), which keeps the routers free of
documentation.
"""

from __future__ import annotations

from typing import Any

from events_api.core.errors import (
    AppError,
    BadRequest,
    InternalError,
    InvalidParam,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from events_api.events.service import RELATION_NAME as RELATION
from events_api.openapi_family_examples import family_examples

# CareCloud's example request of POST /events
CARECLOUD_POST_BODY: dict[str, Any] = {
    "event": {
        "event_type_id": "8bed991c68a470e7aaeffbf048",
        "customer_id": "85bc5819e09dab95437552ce79",
        "external_id": "aaabbbccc",
    },
    "property_records": [{"property_id": "has_purchase", "property_value": "true"}],
}

FULL_POST_BODY: dict[str, Any] = {
    "event": {
        "event_type_id": "8bed991c68a470e7aaeffbf048",
        "customer_id": "85bc5819e09dab95437552ce79",
        "external_id": 157613,
        "secondary_external_id": "pos-12",
        "created_at": "2021-04-29 14:51:43",
        "data": '{"id_account_history_change":6}',
    },
    "property_records": [
        {"property_id": "has_purchase", "property_value": "true"},
        {"property_id": "amount", "property_value": "149.90"},
        {"property_id": "tier", "property_value": [{"id": "1"}]},
    ],
}

# CareCloud's example events (GET /events, GET /events/{event_id})
_EVENTS: list[dict[str, Any]] = [
    {
        "event_id": "8bed991c68a470e7aaeffbf048",
        "event_type_id": "8bed991c68a470e7aaeffbf048",
        "customer_id": "85bc5819e09dab95437552ce79",
        "external_id": "157613",
        "data": '{"test":10,"test2":20}',
        "created_at": "2017-06-20 16:59:49",
        "secondary_external_id": None,
        "state": 1,
        "property_records": None,
    },
    {
        "event_id": "8bda8a4854394325e2748a5005",
        "event_type_id": "8bed991c68a470e7aaeffbf048",
        "customer_id": "85bc5819e09dab95437552ce79",
        "external_id": "3624",
        "data": '{"test":10,"test2":20}',
        "created_at": "2018-04-20 15:58:04",
        "secondary_external_id": None,
        "state": 1,
        "property_records": None,
    },
]

_RECORD: dict[str, Any] = {
    "property_record_id": "has_purchase:85c7c9d1ccf6c6dfed34edc8d2",
    "property_id": "has_purchase",
    "property_name": "Has purchase",
    "property_value": "true",
    "last_change": "2020-08-06 13:30:31",
}


def _example(summary: str, value: Any) -> dict[str, Any]:
    return {"summary": summary, "value": value}


def _error(error: AppError) -> Any:
    return error.body("en")


def _bad_request(*params: InvalidParam) -> Any:
    return _error(BadRequest(list(params)))


def _common_errors() -> dict[str, dict[str, dict[str, Any]]]:
    common = {
        "401": {"unauthorized": _example("Missing or wrong credentials", _error(Unauthorized()))},
        "404": {
            "not_found": _example(
                "No event with this id", _error(NotFound("events", "84b5e55448fbd6c0b22b4d"))
            )
        },
        "405": {
            "method_not_allowed": _example(
                "e.g. DELETE /events/{event_id}", _error(MethodNotAllowed("DELETE", None))
            )
        },
        "413": {
            "too_large": _example("Body over MAX_BODY_BYTES", _error(PayloadTooLarge(1048576)))
        },
        "500": {"internal": _example("A bug; never a stack trace", _error(InternalError()))},
        "429": {
            "too_many": _example("Too many failed logins", _error(TooManyRequests(retry_after=60)))
        },
        "503": {
            "unavailable": _example(
                "Database unreachable", _error(ServiceUnavailable(retry_after=5))
            )
        },
    }
    return common


def _operation_examples() -> dict[str, dict[str, Any]]:
    """Per operation id: request examples and examples per response status."""
    bad_query = _bad_request(
        InvalidParam(
            "count", "not_allowed_value", "5000", "out_of_range", {"minimum": 1, "maximum": 1000}
        ),
        InvalidParam(
            "sort_direction", "not_allowed_value", "UP", "one_of", {"allowed": "ASC, DESC"}
        ),
    )
    unknown_id = _error(NotFound("events", "84b5e55448fbd6c0b22b4d"))
    return {
        **family_examples(),
        "postEvent": {
            "request": {
                "carecloud": _example("CareCloud's example request", CARECLOUD_POST_BODY),
                "all_fields": _example(
                    "Every field: numeric external_id, created_at, data, several records",
                    FULL_POST_BODY,
                ),
            },
            "201": {
                "created": _example(
                    "CareCloud's example response",
                    {"data": {"event_id": "85c7c9d1ccf6c6dfed34edc8d2"}},
                )
            },
            "400": {
                "duplicate": _example(
                    "The same event again (CareCloud's example error)",
                    _bad_request(
                        InvalidParam(
                            RELATION,
                            "relation_already_exists",
                            "8bed991c68a470e7aaeffbf048, 85bc5819e09dab95437552ce79, aaabbbccc, ",
                            "relation_already_exists",
                        )
                    ),
                ),
                "unknown_references": _example(
                    "Every problem at once: unknown event type, missing customer_id",
                    _bad_request(
                        InvalidParam(
                            "event_type_id",
                            "not_found",
                            "ffffffffffffffffffffffffff",
                            "event_type_not_found",
                        ),
                        InvalidParam("customer_id", "required", None, "required"),
                    ),
                ),
            },
        },
        "postBulkEvents": {
            "request": {
                "batch": _example(
                    "Two events; the first invalid item rolls back all (error_processing 1)",
                    {"events": [CARECLOUD_POST_BODY, FULL_POST_BODY], "error_processing": 1},
                ),
            },
            "200": {
                "report": _example(
                    "error_processing 2: the valid items were written, two failed",
                    {
                        "data": {
                            "written": 198,
                            "failed_items": [
                                {
                                    "index": 3,
                                    "invalid_params": [
                                        InvalidParam(
                                            "events[3].event.event_type_id",
                                            "not_found",
                                            "ffffffffffffffffffffffffff",
                                            "event_type_not_found",
                                        ).render("en")
                                    ],
                                },
                                {
                                    "index": 12,
                                    "invalid_params": [
                                        InvalidParam(
                                            f"events[12].event.{RELATION}",
                                            "relation_already_exists",
                                            "8bed991c68a470e7aaeffbf048, "
                                            "85bc5819e09dab95437552ce79, aaabbbccc",
                                        ).render("en")
                                    ],
                                },
                            ],
                            "total_items": 2,
                        }
                    },
                )
            },
            "400": {
                "invalid_items": _example(
                    "error_processing 1: every problem of every item, nothing written",
                    _bad_request(
                        InvalidParam(
                            "events[12].event.event_type_id",
                            "not_found",
                            "ffffffffffffffffffffffffff",
                            "event_type_not_found",
                        ),
                        InvalidParam(
                            "events[3].property_records[1].property_value",
                            "invalid_value_format",
                            "abc",
                            "invalid_property_value",
                            {"data_type": "float"},
                        ),
                    ),
                ),
                "too_many": _example(
                    "More than 1000 items",
                    _bad_request(
                        InvalidParam(
                            "events", "not_allowed_value", 1001, "too_many_items", {"limit": 1000}
                        )
                    ),
                ),
            },
            "413": {
                "too_large": _example(
                    "Body over MAX_BATCH_BODY_BYTES", _error(PayloadTooLarge(16777216))
                )
            },
        },
        "getEvents": {
            "200": {
                "carecloud": _example(
                    "CareCloud's example: ?event_type_id=8bed991c68a470e7aaeffbf048&count=2",
                    {"data": {"events": _EVENTS, "total_items": 114}},
                ),
                "with_property_records": _example(
                    "include_property_records=true",
                    {
                        "data": {
                            "events": [
                                {
                                    **_EVENTS[0],
                                    "event_id": "85c7c9d1ccf6c6dfed34edc8d2",
                                    "property_records": [_RECORD],
                                }
                            ],
                            "total_items": 1,
                        }
                    },
                ),
            },
            "400": {"bad_query": _example("Bad query parameters, all reported", bad_query)},
        },
        "getEvent": {
            "200": {"carecloud": _example("CareCloud's example response", {"data": _EVENTS[0]})},
            "404": {"not_found": _example("No event with this id", unknown_id)},
        },
        "getSubEventProperties": {
            "200": {
                "records": _example(
                    "The records of CareCloud's example event",
                    {"data": {"property_records": [_RECORD], "total_items": 1}},
                )
            },
            "404": {"not_found": _example("No event with this id", unknown_id)},
        },
    }


def add_examples(schema: dict[str, Any]) -> None:
    """Attach the examples to every operation of the generated OpenAPI document (in place).

    FastAPI also lists a 422 for operations with parameters; this server answers every bad
    input with CareCloud's 400, so the 422 is dropped.
    """
    per_operation = _operation_examples()
    common = _common_errors()
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            responses.pop("422", None)
            own = per_operation.get(str(operation.get("operationId")), {})
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and "request" in own:
                body["examples"] = own["request"]
            for status, response in responses.items():
                examples = own.get(status) or common.get(status)
                if status == "400" and examples is None:
                    examples = {
                        "bad_request": _example(
                            "Bad input",
                            _bad_request(InvalidParam("event_id", "invalid_value_format")),
                        )
                    }
                content = response.get("content", {}).get("application/json")
                if examples and content is not None:
                    content["examples"] = examples
