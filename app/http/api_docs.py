"""Interactive API docs served from vendored Swagger UI (no CDN), and the admin API's own schema.

`/docs` and `/openapi.json` describe the tenant API only. The admin API is described at
`/admin/openapi.json`, served only to the admin key, and browsed at `/admin/docs` (the page asks for
the key and sends it with each request; the page itself holds nothing secret).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.container import Container
from app.http import routes_admin, routes_engines
from app.http.openapi import build_schema

SWAGGER_DIR = Path(__file__).parent / "static" / "swagger-ui"
ASSETS = "/docs-assets/swagger-ui"  # not under /static, which the chat UI serves

router = APIRouter(include_in_schema=False)


def docs_page(title: str, schema_url: str, admin: bool = False) -> HTMLResponse:
    """A Swagger UI page for a schema, with no inline script or style."""
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
</head>
<body data-openapi="{escape(schema_url)}" data-admin="{"true" if admin else "false"}">
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/init.js"></script>
</body>
</html>
"""
    return HTMLResponse(page)


@router.get("/docs")
def tenant_docs() -> HTMLResponse:
    """Swagger UI for the tenant API."""
    return docs_page("Verity API", "/openapi.json")


@router.get("/admin/docs")
def admin_docs() -> HTMLResponse:
    """Swagger UI for the admin API (the page asks for the admin key)."""
    return docs_page("Verity admin API", "/admin/openapi.json", admin=True)


@router.get("/admin/openapi.json")
def admin_schema(container: Container = Depends(routes_admin.require_admin)) -> dict[str, Any]:
    """The admin API's OpenAPI document, for the admin key only."""
    return build_schema(
        "Verity admin API",
        "0.1.0",
        "Keys and credits of tenants, engine replicas and the canary; every route needs the admin key "
        "(VERITY_ADMIN_KEY).",
        [*routes_admin.router.routes, *routes_engines.router.routes],
    )


def install_api_docs(app: FastAPI) -> None:
    """Serve the vendored Swagger UI files and the docs pages."""
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")
    app.include_router(router)
