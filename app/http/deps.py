"""Request dependencies: the container the app was built with."""

from __future__ import annotations

from typing import cast

from fastapi import Request

from app.container import Container


def get_container(request: Request) -> Container:
    """The application's container."""
    return cast(Container, request.app.state.container)
