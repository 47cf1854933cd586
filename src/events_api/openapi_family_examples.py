"""/docs examples of the events family's other operations: the catalog reads, a customer's
events and the bearer login (merged into openapi_examples by operation id)."""

from __future__ import annotations

from typing import Any

from events_api.core.errors import BadRequest, Forbidden, InvalidParam, NotFound

_GROUP = {
    "event_group_id": "86e05affc7a7abefc513ab4aa0",
    "name": "Shopping",
    "text_id": "shopping",
    "state": 1,
}
_TYPE = {
    "event_type_id": "8bed991c68a470e7aaeffbf048",
    "event_group_id": "86e05affc7a7abefc513ab4aa0",
    "event_group_text_id": "shopping",
    "name": "Purchase",
    "text_id": "purchase",
    "icon_name": "shopping_cart",
    "state": 1,
}
_PROPERTY = {
    "property_id": "tier",
    "name": "Tier",
    "description": None,
    "data_type": "enum",
    "items": [
        {"id": "1", "name": "Gold", "resource_record_id": None, "state": 1},
        {"id": "2", "name": "Silver", "resource_record_id": None, "state": 1},
    ],
    "is_required": False,
    "is_unique": False,
    "last_change": "2019-06-20 14:48:09",
    "state": 1,
}
_EVENT = {
    "event_id": "85c7c9d1ccf6c6dfed34edc8d2",
    "event_type_id": "8bed991c68a470e7aaeffbf048",
    "customer_id": "8ea2591121e636086a4a9c0992",
    "external_id": "157613",
    "data": '{"id_account_history_change":6}',
    "created_at": "2021-04-29 14:51:43",
    "secondary_external_id": None,
    "state": 1,
    "property_records": None,
}


def _ex(summary: str, value: Any) -> dict[str, Any]:
    return {"summary": summary, "value": value}


def _not_found(resource: str, resource_id: str) -> dict[str, Any]:
    return {"not_found": _ex("Unknown id", NotFound(resource, resource_id).body("en"))}


def family_examples() -> dict[str, dict[str, Any]]:
    """Per operation id: request examples and examples per response status."""
    return {
        "getEventGroups": {
            "200": {
                "groups": _ex("?name=shop", {"data": {"event_groups": [_GROUP], "total_items": 1}})
            }
        },
        "getEventGroup": {
            "200": {"group": _ex("An event group", {"data": _GROUP})},
            "404": _not_found("event-groups", "86e05affc7a7abefc513ab4aa9"),
        },
        "getEventTypes": {
            "200": {
                "types": _ex(
                    "?event_group_text_id[]=shopping",
                    {"data": {"event_types": [_TYPE], "total_items": 1}},
                )
            }
        },
        "getEventType": {
            "200": {"type": _ex("An event type", {"data": _TYPE})},
            "404": _not_found("event-types", "8bed991c68a470e7aaeffbf049"),
        },
        "getSubEventTypeProperties": {
            "200": {
                "properties": _ex(
                    "The properties assigned to a type",
                    {"data": {"event_properties": [_PROPERTY], "total_items": 1}},
                )
            },
            "404": _not_found("event-types", "8bed991c68a470e7aaeffbf049"),
        },
        "getEventProperties": {
            "200": {
                "properties": _ex(
                    "?name=tier", {"data": {"event_properties": [_PROPERTY], "total_items": 1}}
                )
            }
        },
        "getEventProperty": {
            "200": {"property": _ex("An enum property with its items", {"data": _PROPERTY})},
            "404": _not_found("event-properties", "no_such_property"),
        },
        "getSubCustomerEvents": {
            "200": {
                "events": _ex(
                    "A customer's events", {"data": {"customer_events": [_EVENT], "total_items": 1}}
                )
            },
            "404": _not_found("customers", "\\u0000"),
        },
        "postUserLogin": {
            "request": {
                "login": _ex(
                    "An API user's login and token, from a registered application",
                    {
                        "user_external_application_id": "0193a5b3c2d1e4f5a6b7c8d9e0",
                        "login": "shop",
                        "password": "the API user's token",
                    },
                )
            },
            "200": {
                "token": _ex(
                    "A bearer token for BEARER_TOKEN_HOURS",
                    {
                        "data": {
                            "bearer_token": "09359095c5da43c7ae11e710eabce49418715a6a",
                            "valid_to": "2019-01-04 10:31:56",
                            "user": {
                                "user_id": "1",
                                "login": "shop",
                                "first_name": "",
                                "last_name": "",
                                "email": "",
                                "phone": None,
                                "user_role_ids": [],
                                "store_id": None,
                                "last_login": None,
                            },
                        }
                    },
                )
            },
            "400": {
                "unknown_application": _ex(
                    "Unknown or revoked application",
                    BadRequest(
                        [
                            InvalidParam(
                                "user_external_application_id",
                                "not_found",
                                "0193a5b3c2d1e4f5a6b7c8d9e0",
                                "application_not_found",
                            )
                        ]
                    ).body("en"),
                )
            },
            "403": {"forbidden": _ex("Wrong login or password", Forbidden().body("en"))},
        },
    }
