"""Request dependencies: the container the app was built with, and the caller behind the API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.container import Container
from app.gateway.keys import Caller

bearer = HTTPBearer(auto_error=False, description="an API key: verity keys create --tenant NAME")


def get_container(request: Request) -> Container:
    """The application's container."""
    return cast(Container, request.app.state.container)


def authorize(endpoint: str) -> Callable[..., Caller]:
    """A dependency resolving the caller (tenant, key, scopes) and checking the key may use `endpoint`."""

    def caller(
        container: Container = Depends(get_container),
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> Caller:
        found = container.gateway.authenticate(credentials.credentials if credentials else None)
        found.check_endpoint(endpoint)
        return found

    return caller


def require_collection(container: Container, tenant: str, collection: str | None) -> None:
    """Raise a 404 (`collection_not_found`) when `collection` names none of the tenant's collections;
    None (every collection) always passes. Uploads create collections, so they do not call this."""
    container.library.require_collection(tenant, collection)


DEADLINE_HEADER = "X-Verity-Deadline"


def request_deadline(
    deadline: float | None = Header(
        None,
        alias=DEADLINE_HEADER,
        gt=0,
        le=3600,
        description="the longest this request may wait for the engine, in seconds (default: the "
        "server's VERITY_QUEUE_DEADLINE_S); when the predicted wait is longer the request is refused "
        "at once with 503 and Retry-After",
    ),
) -> float | None:
    """The request's own deadline for its wait at the engine, when it sets one."""
    return deadline
