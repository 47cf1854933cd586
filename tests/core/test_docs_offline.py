"""/docs works offline: every file the page loads is served by this server (core/docs.py), and
the security scheme is named as in CareCloud's spec."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

ROOT = "http://testserver"


async def test_docs_reference_only_local_assets_and_those_are_served(
    anon: httpx.AsyncClient,
) -> None:
    page = await anon.get(f"{ROOT}/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(urls) >= 3  # the script, the stylesheet, the icon
    assert "//" not in page.text.replace("http://www.w3.org", ""), "an absolute URL in /docs"
    for url in urls:
        assert not urlsplit(url).netloc, url
        asset = await anon.get(ROOT + url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    script = next(url for url in urls if url.endswith(".js"))
    assert b"SwaggerUIBundle" in (await anon.get(ROOT + script)).content


async def test_only_the_pages_files_are_served_from_the_assets_folder(
    anon: httpx.AsyncClient,
) -> None:
    for name in ("swagger-editor-bundle.js", "..%2F__init__.py", "LICENSE"):
        response = await anon.get(f"{ROOT}/docs/assets/{name}")
        assert response.status_code == 404
        assert response.json()["error"]["exception"] == "not_found_exception"


async def test_security_scheme_is_named_as_carecloud_names_it(anon: httpx.AsyncClient) -> None:
    schema = (await anon.get(f"{ROOT}/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert {name: (s["type"], s["scheme"]) for name, s in schemes.items()} == {
        "basicAuth": ("http", "basic"),
        "bearerAuth": ("http", "bearer"),  # POST /users/actions/login
    }
    operation = schema["paths"]["/rest-api/enterprise-interface/v1.0/events"]["get"]
    assert operation["security"] == [{"basicAuth": []}, {"bearerAuth": []}]
