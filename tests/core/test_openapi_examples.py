"""The interactive docs (/docs) show CareCloud's examples for every route, and they are true."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from events_api.core.settings import API_PREFIX
from events_api.openapi_examples import CARECLOUD_POST_BODY, FULL_POST_BODY


@pytest.fixture
async def schema(anon: httpx.AsyncClient) -> dict[str, Any]:
    response = await anon.get("http://testserver/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def api_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (path, method, operation)
        for path, operations in schema["paths"].items()
        if path.startswith(API_PREFIX)
        for method, operation in operations.items()
    ]
    assert len(found) >= 4
    return found


def validator(schema: dict[str, Any], node: dict[str, Any]) -> Draft202012Validator:
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    rebased = _rebase(node)
    return Draft202012Validator(rebased, registry=Registry().with_resource("urn:doc", resource))


def _rebase(node: Any) -> Any:
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    if isinstance(node, dict):
        return {
            key: ("urn:doc" + value if key == "$ref" and value.startswith("#") else _rebase(value))
            for key, value in node.items()
        }
    return node


async def test_every_operation_has_request_and_response_examples(schema: dict[str, Any]) -> None:
    for path, method, operation in api_operations(schema):
        body = operation.get("requestBody")
        if body is not None:
            examples = body["content"]["application/json"].get("examples")
            assert examples, f"{method.upper()} {path}: no request example"
        for status, response in operation["responses"].items():
            if status == "204":  # No Content (POST /events/batch)
                assert "content" not in response, f"{method.upper()} {path} 204 has content"
                continue
            content = response.get("content", {}).get("application/json")
            assert content is not None, f"{method.upper()} {path} {status}: no JSON content"
            assert content.get("examples"), f"{method.upper()} {path} {status}: no example"


async def test_no_422_is_documented(schema: dict[str, Any]) -> None:
    """Every bad input is CareCloud's 400; FastAPI's default 422 never happens."""
    for path, method, operation in api_operations(schema):
        assert "422" not in operation["responses"], f"{method.upper()} {path}"


async def test_examples_match_their_schemas(schema: dict[str, Any]) -> None:
    checked = 0
    for path, method, operation in api_operations(schema):
        media = [
            operation.get("requestBody", {}).get("content", {}).get("application/json"),
            *(
                r.get("content", {}).get("application/json")
                for r in operation["responses"].values()
            ),
        ]
        for content in media:
            if not content or "examples" not in content:
                continue
            check = validator(schema, content["schema"])
            for name, example in content["examples"].items():
                errors = [e.message for e in check.iter_errors(example["value"])]
                assert not errors, f"{method.upper()} {path} example {name}: {errors}"
                checked += 1
    assert checked >= 20


async def test_post_example_is_carecloud_request(schema: dict[str, Any]) -> None:
    post = schema["paths"][API_PREFIX + "/events"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    assert examples["carecloud"]["value"] == CARECLOUD_POST_BODY
    created = post["responses"]["201"]["content"]["application/json"]["examples"]
    assert created["created"]["value"] == {"data": {"event_id": "85c7c9d1ccf6c6dfed34edc8d2"}}


async def test_request_examples_really_work(api: httpx.AsyncClient) -> None:
    for body in (CARECLOUD_POST_BODY, FULL_POST_BODY):
        response = await api.post("/events", json=body)
        assert response.status_code == 201, response.text
    again = await api.post("/events", json=CARECLOUD_POST_BODY)
    assert again.status_code == 400
    assert again.json()["error"]["error_data"]["invalid_params"][0]["reason"] == (
        "relation_already_exists"
    )


async def test_docs_page_serves_swagger_ui(anon: httpx.AsyncClient) -> None:
    page = await anon.get("http://testserver/docs")
    assert page.status_code == 200
    assert "swagger-ui" in page.text
    assert "'/openapi.json'" in page.text
