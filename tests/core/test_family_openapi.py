"""Our /openapi.json has every operation of CareCloud's events family, with CareCloud's
operationIds, so a client generated from either document has the same method names."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from events_api.core.settings import API_PREFIX
from tests.events.test_contract import SPEC

pytestmark = pytest.mark.skipif(not SPEC.is_file(), reason=f"reference spec not found at {SPEC}")


def operations(document: dict[str, Any], prefix: str = "") -> dict[tuple[str, str], str]:
    return {
        (path.removeprefix(prefix), method): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


async def test_every_events_family_operation_is_served(app: Any) -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    theirs = operations(spec)
    theirs.pop(("/products/batch", "post"))  # in the spec only as an example of batches
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        document = (await client.get("/openapi.json")).json()
    ours = operations(document, API_PREFIX)
    assert len(theirs) == 13
    missing = {key: op for key, op in theirs.items() if ours.get(key) != op}
    assert not missing, f"not served with CareCloud's operationId: {missing}"
    # the query and path parameters a generated client sends, by the spec's names exactly
    # (`event_type_ids`, not the bracket syntax its text shows), arrays documented as arrays
    arrays = {"event_type_ids", "event_group_text_id"}
    for path, method in theirs:
        spec_names = {
            spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]["name"]
            for p in spec["paths"][path][method].get("parameters", [])
        } - {"Accept-Language"}
        ours_by_name = {
            p["name"]: p for p in document["paths"][API_PREFIX + path][method].get("parameters", [])
        }
        assert spec_names <= set(ours_by_name), (path, spec_names - set(ours_by_name))
        for name in spec_names & arrays:
            schema = ours_by_name[name]["schema"]
            assert (schema["type"], schema["items"]["type"]) == ("array", "string"), (path, name)
            assert "style" not in ours_by_name[name]  # form, exploded: name=a&name=b
        assert not [name for name in ours_by_name if "[" in name], path
    login = document["paths"][API_PREFIX + "/users/actions/login"]["post"]
    assert login["security"] == []
    schemes = document["components"]["securitySchemes"]
    assert {scheme["scheme"].lower() for scheme in schemes.values()} == {"basic", "bearer"}
