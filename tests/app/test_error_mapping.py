"""Every named exception a client can meet maps to its own status and code, and docs/errors.md lists it."""

from __future__ import annotations

import asyncio
import inspect
import re
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

import app.cli
import app.gateway.errors
import app.serving.errors
import eval.errors
import generation.errors
import generation.safety.errors
import ingest.errors
import retrieval.databases.errors
import retrieval.errors
from app.http.errors import api_error_from, install_error_handlers
from app.names import InvalidName
from app.token_input import TokenIdsNotInVocabulary
from generation.safety.errors import SafetyModelError
from tests.app.cli_run import verity
from tests.conftest import REPO

ERROR_MODULES: list[ModuleType] = [
    ingest.errors,
    retrieval.errors,
    retrieval.databases.errors,
    generation.errors,
    generation.safety.errors,
    app.gateway.errors,
    app.serving.errors,
]
# eval's errors are met only through `verity eval` and `verity safety train` (app/http may not import
# eval): the CLI maps them, see the tests at the end
CLI_ONLY = {"eval/errors.py"}
MAPPER = "app/http/errors.py"


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


def test_every_exception_tree_of_the_packages_is_mapped_here() -> None:
    """A new package's errors.py must join ERROR_MODULES (mapped for HTTP) or CLI_ONLY."""
    trees = {
        str(path.relative_to(REPO))
        for package in ("app", "ingest", "retrieval", "generation", "eval")
        for path in (REPO / package).rglob("errors.py")
    }
    covered = {module.__name__.replace(".", "/") + ".py" for module in ERROR_MODULES}
    assert trees - {MAPPER} == covered | CLI_ONLY


def test_every_server_error_is_one_deliberately_documented_as_such() -> None:
    """A 500 is only ever a documented `server_error` with its own code, never the bug fallback."""
    server_errors = [api_error_from(example(kind)) for kind in exception_classes()]
    for error in server_errors:
        if error.status == 500:
            assert error.type == "server_error" and error.code != "internal_error"
            assert 500 in documented().get(str(error.code), set())


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


@pytest.mark.parametrize(
    "kind",
    [k for _, k in inspect.getmembers(eval.errors, inspect.isclass) if issubclass(k, Exception)],
    ids=lambda kind: kind.__name__,
)
def test_every_evaluation_error_reaches_the_user_of_the_cli_as_one_line_and_exit_code_2(
    kind: type[Exception], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def command() -> None:
        raise kind("data/squad/test.jsonl: row 3 has no question")

    monkeypatch.setattr(app.cli, "app", command)
    code, output = verity(monkeypatch, capsys, "eval", "all")
    assert code == 2
    assert "data/squad/test.jsonl: row 3 has no question" in output and "Traceback" not in output
