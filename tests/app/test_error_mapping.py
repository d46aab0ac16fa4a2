"""Every named exception a client can meet maps to its own status and code, and docs/errors.md lists it."""

from __future__ import annotations

import asyncio
import inspect
import re
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

import app.gateway.errors
import generation.errors
import generation.safety.errors
import ingest.errors
import retrieval.errors
from app.http.errors import api_error_from, install_error_handlers
from app.names import InvalidName
from app.token_input import TokenIdsNotInVocabulary
from generation.safety.errors import SafetyModelError
from tests.conftest import REPO

ERROR_MODULES: list[ModuleType] = [
    ingest.errors,
    retrieval.errors,
    generation.errors,
    generation.safety.errors,
    app.gateway.errors,
]


def example(kind: type[Exception]) -> Exception:
    """An instance of the exception, built with the arguments its constructor needs."""
    if kind is app.gateway.errors.Overloaded:
        return kind("the queue is full", retry_after=1.0)
    return kind("what went wrong")


def exception_classes() -> list[type[Exception]]:
    found = [
        kind
        for module in ERROR_MODULES
        for _, kind in inspect.getmembers(module, inspect.isclass)
        if issubclass(kind, Exception) and kind.__module__ == module.__name__
    ]
    return [*found, TokenIdsNotInVocabulary, InvalidName]


def documented() -> dict[str, set[int]]:
    """code -> the statuses docs/errors.md gives it, read from the table's rows."""
    table: dict[str, set[int]] = {}
    for line in (REPO / "docs" / "errors.md").read_text().splitlines():
        row = re.match(r"\| (\d{3}) \| [^|]* \| ([^|]*) \|", line)
        if row:
            for code in re.findall(r"`([a-z_]+)`", row.group(2)):
                table.setdefault(code, set()).add(int(row.group(1)))
    return table


@pytest.mark.parametrize("kind", exception_classes(), ids=lambda kind: kind.__name__)
def test_every_named_exception_has_a_documented_status_and_code(kind: type[Exception]) -> None:
    error = api_error_from(example(kind))
    assert error.code != "internal_error", f"{kind.__name__} is not mapped in app/http/errors.py"
    assert error.status in documented().get(str(error.code), set()), (
        f"docs/errors.md does not list {error.status} `{error.code}` ({kind.__name__})"
    )


def test_a_safety_error_reaches_the_client_as_its_status_with_the_openai_body() -> None:
    api = FastAPI()
    install_error_handlers(api)

    @api.get("/boom")
    def boom() -> None:
        raise SafetyModelError("cannot read safety weights: run `verity safety train`")

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://verity") as client:
            return await client.get("/boom")

    response = asyncio.run(call())
    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "message": "cannot read safety weights: run `verity safety train`",
            "type": "server_error",
            "param": None,
            "code": "safety_model_unavailable",
        }
    }
