"""Verity's own endpoints refuse query and form fields they do not define (a 400 naming the field).

A misspelt field (`?colection=alpha`) would otherwise be ignored silently, and the request would act
on every collection instead of one. JSON bodies get the same rule from their models
(`extra="forbid"`); the OpenAI-compatible endpoints ignore unknown fields, as OpenAI's clients expect.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.http.errors import UNKNOWN_FIELD, ApiError

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _declared(dependant: Dependant, kind: str) -> set[str]:
    """The names of a route's parameters of one kind (query_params, body_params), dependencies too."""
    names = {field.alias for field in getattr(dependant, kind)}
    for sub in dependant.dependencies:
        names |= _declared(sub, kind)
    return names


async def known_fields_only(request: Request) -> None:
    """Refuse a query parameter or form field the route does not declare."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = [
        name for name in request.query_params if name not in _declared(route.dependant, "query_params")
    ]
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()  # already parsed for the route: Starlette keeps it
        declared = _declared(route.dependant, "body_params")
        unknown += [name for name in form if name not in declared]
    if unknown:
        raise ApiError(
            400, f"unknown field {unknown[0]!r}: {UNKNOWN_FIELD}", param=unknown[0], code="unknown_field"
        )
