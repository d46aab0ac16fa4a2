"""Verified citations, sentence checks, the abstainer's decision and the usage receipt over real HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.app.sse import parse_sse

pytestmark = pytest.mark.llm

QUESTION = {"question": "Which environment variable sets the data directory?", "collection": "demo"}


def test_answer_carries_verified_citations_sentence_checks_and_a_receipt(client: TestClient) -> None:
    body = client.post("/v1/answers", json=QUESTION).json()
    assert body["answerability"] is not None and 0.0 <= body["answerability"]["probability"] <= 1.0
    assert set(body["answerability"]["evidence"]) == {"coverage", "dense", "bm25", "support", "trained"}
    if body["abstained"]:
        assert body["citations"] == [] and body["sources"], "abstaining still shows the closest passages"
        return
    assert body["sentences"] and all(isinstance(s["supported"], bool) for s in body["sentences"])
    for citation in body["citations"]:
        assert 1 <= citation["number"] <= len(body["sources"])
        assert citation["char_start"] <= citation["span_start"] < citation["span_end"] <= citation["char_end"]
        assert not citation["verified"] or citation["support_score"] >= 0.5
    usage = body["usage"]
    assert {"retrieve", "answerability", "first_token", "total"} <= set(usage["timings_ms"])
    assert usage["passages_included"] + usage["passages_dropped"] == usage["passages_retrieved"]


def test_streamed_done_event_and_chat_completion_carry_the_checks(client: TestClient) -> None:
    with client.stream("POST", "/v1/answers", json={**QUESTION, "stream": True}) as response:
        frames = parse_sse(response.iter_lines())
    done = frames[-2][1]
    assert "sentences" in done and "answerability" in done and "timings_ms" in done["usage"]
    # every sentence is checked while the answer streams (the last as it ends), as in `done`
    checked = [data for event, data in frames if event == "sentence"]
    if not done["abstained"]:
        assert len(checked) == len(done["sentences"])
    for index, (early, final) in enumerate(zip(checked, done["sentences"], strict=False)):
        assert early["index"] == index
        assert {k: early[k] for k in final} == final
        assert [c["number"] for c in early["sources"] if c["verified"]] == final["citations"]
    chat = client.post(
        "/v1/chat/completions",
        json={"model": "verity:demo", "messages": [{"role": "user", "content": QUESTION["question"]}]},
    ).json()
    assert chat["answerability"] is not None and isinstance(chat["sentences"], list)
