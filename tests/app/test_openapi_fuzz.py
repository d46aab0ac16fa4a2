"""Schemathesis against `/openapi.json`: generated requests find no 5xx and no response outside the spec.

Bounded: a fixed number of examples per operation, no deadline (the real model answers), answers kept
short by the settings of the app under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.http.main import create_app
from generation.engines.llama_cpp import LlamaCppEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import make_container
from tests.conftest import CORPUS

pytestmark = pytest.mark.llm

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The real model answers: its first prompt on busy cores can pass schemathesis's 10 s default.
REQUEST_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def fuzzed_app(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder, engine: LlamaCppEngine
) -> FastAPI:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    container = make_container(
        data_dir, embedder, engine, max_answer_tokens=8, context_budget_tokens=256, max_upload_mb=1
    )
    container.ingest_pipeline.ingest([CORPUS], collection="demo")
    return create_app(container)


def test_every_operation_conforms_to_the_spec(fuzzed_app: FastAPI) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    labels = []
    for result in api.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS, timeout=REQUEST_TIMEOUT_S)

        check()
    assert "POST /v1/chat/completions" in labels and "POST /v1/answers" in labels
