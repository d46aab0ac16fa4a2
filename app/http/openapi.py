"""The OpenAPI documents, made to say what the API really does.

FastAPI documents a 422 validation error with its own body on every route that takes input; Verity
answers invalid requests with 400 and OpenAI's error body (documented per route), so those entries and
their schemas are removed. The tenant API's document (`/openapi.json`) leaves out the admin routes,
which have their own document behind the admin key (`app.http.api_docs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute


def build_schema(title: str, version: str, description: str, routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of some routes, with FastAPI's 422 entries removed."""
    schema = get_openapi(title=title, version=version, description=description, routes=routes)
    for operations in schema["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Replace the app's OpenAPI generator with one that documents the real error responses."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_schema(app.title, app.version, app.description, app.routes)
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
