"""The interactive docs (/docs), served entirely by this server: they work offline.

Swagger UI's files come from the `swagger-ui-py` package (its `static` folder, Swagger UI 5,
which reads OpenAPI 3.1) and are served under /docs/assets/; the page is FastAPI's own, pointed
at them. Only the files the page loads are served.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from events_api.core.errors import RouteNotFound

DOCS_PATH = "/docs"
ASSETS_PATH = DOCS_PATH + "/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def swagger_ui_folder() -> Path:
    """swagger-ui-py's `static` folder, found without importing the package (and its jinja2)."""
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install_docs(app: FastAPI, openapi_url: str) -> None:
    folder = swagger_ui_folder()

    async def swagger_ui_html(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
        )

    async def asset(request: Request, name: str) -> FileResponse:
        if name not in ASSETS:
            raise RouteNotFound(resource_name=request.url.path, resource_id="")
        return FileResponse(
            folder / name,
            media_type=ASSETS[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.add_api_route(DOCS_PATH, swagger_ui_html, include_in_schema=False, name="swagger_ui_html")
    app.add_api_route(ASSETS_PATH + "/{name}", asset, include_in_schema=False, name="docs_asset")
