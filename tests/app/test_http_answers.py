"""`/v1/answers` and `/healthz` through the ASGI app over the real stack."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.app.sse import parse_sse
from tests.conftest import CORPUS

pytestmark = pytest.mark.llm

QUESTION = {"question": "Which environment variable sets the data directory?", "collection": "demo"}


def test_health_reports_documents_and_models(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["index_version"] >= 1
    assert body["documents"] == len(list(CORPUS.iterdir()))
    assert body["embedding_model"] == "all-MiniLM-L6-v2"


def test_answer_cites_the_passage_that_holds_it(client: TestClient) -> None:
    response = client.post("/v1/answers", json=QUESTION)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "VERITY_DATA_DIR" in body["answer"]
    assert body["citations"], body["answer"]
    holding = [c for c in body["citations"] if "VERITY_DATA_DIR" in c["text"]]
    assert holding and holding[0]["source"].endswith("configuration.md")
    assert body["sources"][0]["number"] == 1
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["passages_included"] >= 1 and usage["context_tokens"] <= usage["context_budget_tokens"]
    assert {"retrieve", "first_token", "total"} <= set(body["timings"])


def test_streamed_answer_sends_sources_deltas_done_then_end_marker(client: TestClient) -> None:
    with client.stream("POST", "/v1/answers", json={**QUESTION, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = parse_sse(response.iter_lines())
    names = [name for name, _ in frames if name != "safety"]  # safety events: see test_http_safety.py
    assert names[0] == "sources" and names[-2] == "done" and frames[-1] == (None, "[DONE]")
    assert "delta" in names and set(names[1:-2]) <= {"delta", "sentence"}  # sentence: checked as it ends
    done = frames[-2][1]
    assert done["answer"] == "".join(data["text"] for name, data in frames if name == "delta").strip()
    assert any("VERITY_DATA_DIR" in c["text"] for c in done["citations"])


def test_question_about_an_unknown_collection_is_a_404_naming_the_collections(client: TestClient) -> None:
    for stream in (False, True):
        request = {"question": "What is Verity?", "collection": "nothing", "stream": stream}
        response = client.post("/v1/answers", json=request)
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "collection_not_found" and error["param"] == "collection"
        assert "'nothing'" in error["message"] and "demo" in error["message"]


def test_invalid_request_gets_an_openai_error_body(client: TestClient) -> None:
    response = client.post("/v1/answers", json={"question": "", "top_k": 500})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] in ("question", "top_k")
    assert set(error) == {"message", "type", "param", "code"}


def test_unknown_route_gets_an_openai_error_body(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"
