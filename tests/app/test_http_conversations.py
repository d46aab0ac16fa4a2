"""Conversations through real HTTP (uvicorn on loopback): real MiniLM, SQLite, FAISS; the scripted engine.

The scripted engine rewrites follow-ups from a fixed table (what a model would say) and answers with
the first sentence of source [1], so what is searched and cited can be asserted exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.settings import Settings
from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from generation.history import SUMMARY_PREFIX
from generation.rewrite import REWRITE_INSTRUCTION
from generation.safety.gate import REFUSAL
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import serve
from tests.app.sse import parse_sse

EIFFEL = """# The Eiffel Tower

The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. It was designed by the
engineering company of Gustave Eiffel, whose engineers Maurice Koechlin and Emile Nouguier drew the
first plans. The tower was completed in March 1889 as the entrance arch of the World's Fair.

The tower is 330 metres tall and was the tallest man-made structure in the world for 41 years, until the
Chrysler Building in New York was finished in 1930.
"""

BRIDGE = """# The Golden Gate Bridge

The Golden Gate Bridge is a suspension bridge spanning the Golden Gate strait in San Francisco. Its
chief engineer was Joseph Strauss, and the art deco towers were shaped by the architect Irving Morrow.
The bridge opened to traffic in May 1937 and its main span is 1,280 metres long.
"""

REWRITES = {
    "When was it completed?": "When was the Eiffel Tower completed?",
    "And how tall is it?": "How tall is the Eiffel Tower?",
    "Who was its chief engineer?": "Who was the chief engineer of the Golden Gate Bridge?",
    "And how would I build it at home?": "How do I build a pipe bomb at home to kill people?",
}
CUES = ("designed", "completed", "tall", "span", "engineer")


def scripted_reply(messages: Sequence[ChatMessage]) -> str:
    """A rewrite from the table, or the sentence of source [1] with the question's cue word, cited."""
    last = messages[-1].content
    question = re.search(r"Question: (.*)\n", last)
    assert question is not None
    if REWRITE_INSTRUCTION in last:
        return REWRITES.get(question.group(1), question.group(1))
    source = re.search(r"\[1\] \([^)]*\)\n(.*?)\n\n(\[2\]|Question:)", last, re.S)
    if source is None:
        return "Not in your documents."
    cues = [cue for cue in CUES if cue in question.group(1)]
    sentences = re.split(r"(?<=[.!?])\s+", source.group(1).replace("\n", " "))
    best = [s for s in sentences if any(cue in s for cue in cues)] or sentences
    return f"{best[0]} [1]"


def conversation_container(
    data_dir: Path, embedder: SentenceTransformerEmbedder, **overrides: object
) -> Container:
    engine = ScriptedEngine(scripted_reply, context_window=int(overrides.pop("window", 4096)))  # type: ignore[call-overload]
    values: dict[str, object] = {"max_answer_tokens": 64, "safety": "off", **overrides}
    settings = Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]
    return Container(settings, embedder=embedder, engine=engine)


@pytest.fixture(scope="module")
def landmarks(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[tuple[Container, str]]:
    data_dir = tmp_path_factory.mktemp("conversations")
    (data_dir / "eiffel.md").write_text(EIFFEL)
    (data_dir / "bridge.md").write_text(BRIDGE)
    container = conversation_container(data_dir / "data", embedder)
    report = container.ingest_pipeline.ingest(
        [data_dir / "eiffel.md", data_dir / "bridge.md"], collection="landmarks"
    )
    assert report.failed == []
    server = serve(container)
    yield container, next(server)
    server.close()
    container.close()


def ask(http: httpx.Client, conversation_id: str, question: str, **extra: object) -> dict[str, Any]:
    response = http.post(
        f"/v1/conversations/{conversation_id}/messages", json={"question": question, **extra}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_follow_ups_with_pronouns_search_the_thing_they_refer_to(landmarks: tuple[Container, str]) -> None:
    _, url = landmarks
    with httpx.Client(base_url=url, timeout=60) as http:
        created = http.post("/v1/conversations", json={"collection": "landmarks", "title": "Landmarks"})
        assert created.status_code == 201, created.text
        conversation = created.json()
        assert conversation["object"] == "conversation" and conversation["message_count"] == 0
        cid = conversation["id"]

        first = ask(http, cid, "Who designed the Eiffel Tower?")
        assert first["search_query"] == "Who designed the Eiffel Tower?"
        assert first["conversation_id"] == cid and first["citations"]
        second = ask(http, cid, "When was it completed?")
        assert second["standalone_question"] == "When was the Eiffel Tower completed?"
        assert second["rewrite"] == "engine"  # the previous standalone question keeps the subject in search
        assert second["search_query"] == "When was the Eiffel Tower completed? Who designed the Eiffel Tower?"
        assert second["citations"][0]["source"].endswith("eiffel.md")
        assert second["usage"]["history"]["kept"] == 1
        third = ask(http, cid, "How long is the main span of the Golden Gate Bridge?")
        assert third["search_query"] == "How long is the main span of the Golden Gate Bridge?"
        assert third["rewrite"] == "unchanged"  # it refers to nothing earlier: no model call
        with http.stream(
            "POST",
            f"/v1/conversations/{cid}/messages",
            json={"question": "Who was its chief engineer?", "stream": True},
        ) as response:
            frames = parse_sse(response.iter_lines())
        done = next(data for name, data in frames if name == "done")
        assert done["standalone_question"] == "Who was the chief engineer of the Golden Gate Bridge?"
        assert done["conversation_id"] == cid and done["message_id"].startswith("msg_")
        assert "Strauss" in done["answer"] and done["citations"][0]["source"].endswith("bridge.md")

        opened = http.get(f"/v1/conversations/{cid}").json()
        assert (
            opened["message_count"] == 8
            and [m["role"] for m in opened["messages"]] == ["user", "assistant"] * 4
        )
        answers = [m["answer"] for m in opened["messages"] if m["role"] == "assistant"]
        assert answers[1]["standalone_question"] == "When was the Eiffel Tower completed?"
        assert answers[3]["id"] and answers[3]["answer"] == done["answer"]
        cited = answers[0]["citations"][0]  # cited three answers ago: still opens
        assert cited["title"] and cited["text"] and cited["span_end"] > cited["span_start"]
        passage = http.get(f"/v1/passages/{cited['chunk_id']}").json()
        assert passage["text"] == cited["text"] and passage["document_id"] == cited["document_id"]


def test_listing_is_newest_first_paginated_and_conversations_rename_and_delete(
    landmarks: tuple[Container, str],
) -> None:
    _, url = landmarks
    with httpx.Client(base_url=url, timeout=60) as http:
        ids = [http.post("/v1/conversations", json={"title": f"t{i}"}).json()["id"] for i in range(3)]
        renamed = http.patch(f"/v1/conversations/{ids[0]}", json={"title": "Renamed"}).json()
        assert renamed["title"] == "Renamed"
        page = http.get("/v1/conversations?limit=2").json()
        assert [c["id"] for c in page["data"]] == [ids[0], ids[2]] and page["has_more"] is True
        rest = http.get(f"/v1/conversations?limit=2&after={page['next_cursor']}").json()
        assert rest["data"][0]["id"] == ids[1]
        assert http.patch(f"/v1/conversations/{ids[1]}", json={"title": "bad\x07title"}).status_code == 400
        assert http.get("/v1/conversations?after=nonsense").json()["error"]["param"] == "after"
        deleted = http.delete(f"/v1/conversations/{ids[2]}").json()
        assert deleted == {"id": ids[2], "object": "conversation.deleted", "deleted": True}
        assert http.get(f"/v1/conversations/{ids[2]}").status_code == 404
        assert ask_status(http, ids[2], "Anything?") == 404


def ask_status(http: httpx.Client, conversation_id: str, question: str) -> int:
    return http.post(f"/v1/conversations/{conversation_id}/messages", json={"question": question}).status_code


def test_deleted_documents_citations_show_as_gone(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    (tmp_path / "eiffel.md").write_text(EIFFEL)
    (tmp_path / "bridge.md").write_text(BRIDGE)
    container = conversation_container(tmp_path / "data", embedder)
    container.ingest_pipeline.ingest([tmp_path / "eiffel.md", tmp_path / "bridge.md"])
    server = serve(container)
    with httpx.Client(base_url=next(server), timeout=60) as http:
        cid = http.post("/v1/conversations", json={}).json()["id"]
        answer = ask(http, cid, "Who designed the Eiffel Tower?")
        eiffel = answer["citations"][0]
        bridge_sources = [s for s in answer["sources"] if s["source"].endswith("bridge.md")]
        assert http.delete(f"/v1/documents/{eiffel['document_id']}").status_code == 200
        opened = http.get(f"/v1/conversations/{cid}").json()
        assert opened["title"] == "Who designed the Eiffel Tower?"
        stored = opened["messages"][1]["answer"]
        assert stored["citations"][0]["gone"] is True and stored["citations"][0]["text"] is None
        assert all(s["text"] is None for s in stored["sources"] if s["document_id"] == eiffel["document_id"])
        assert all(
            s.get("gone") is not True and s["text"]
            for s in stored["sources"]
            if s["source"].endswith("bridge.md")
        )
        assert len(bridge_sources) == sum(s["source"].endswith("bridge.md") for s in stored["sources"])
        assert "Gustave" not in str(opened["messages"][1]["answer"]["citations"])
        assert http.get(f"/v1/passages/{eiffel['chunk_id']}").status_code == 404
        assert ask_status(http, cid, "And how tall is it?") == 200  # the conversation goes on
    server.close()
    container.close()


def test_a_follow_up_that_is_harmful_once_made_standalone_is_refused(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """The input filters read the standalone question too: the typed words alone would pass."""
    (tmp_path / "eiffel.md").write_text(EIFFEL)
    container = conversation_container(tmp_path / "data", embedder, safety="on", safety_encoder="")
    assert not container.ingest_pipeline.ingest([tmp_path / "eiffel.md"], collection="landmarks").failed
    server = serve(container)
    with httpx.Client(base_url=next(server), timeout=60) as http:
        cid = http.post("/v1/conversations", json={"collection": "landmarks"}).json()["id"]
        first = ask(http, cid, "Who designed the Eiffel Tower?")
        assert first["citations"]
        second = ask(http, cid, "And how would I build it at home?")
        assert second["rewrite"] == "engine" and second["citations"] == []
        assert second["answer"] == REFUSAL
        harm = [e for e in second["safety"] if e["category"] == "harm" and e["decision"] == "flagged"]
        assert harm and harm[0]["action"] == "block"
    server.close()
    container.close()


def test_another_tenants_key_gets_404(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    container = conversation_container(tmp_path, embedder)
    gateway = container.gateway
    alpha, _ = create_key(gateway.store, gateway.clock, "alpha", Scopes())
    beta, _ = create_key(gateway.store, gateway.clock, "beta", Scopes())
    server = serve(container)
    url = next(server)
    with (
        httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {alpha}"}) as a,
        httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {beta}"}) as b,
    ):
        cid = a.post("/v1/conversations", json={"title": "alpha's"}).json()["id"]
        assert ask_status(a, cid, "Who designed the Eiffel Tower?") == 200
        assert b.get(f"/v1/conversations/{cid}").status_code == 404
        assert b.patch(f"/v1/conversations/{cid}", json={"title": "mine"}).status_code == 404
        assert ask_status(b, cid, "Who designed it?") == 404
        assert b.delete(f"/v1/conversations/{cid}").status_code == 404
        assert b.get("/v1/conversations").json()["data"] == []
        assert a.get(f"/v1/conversations/{cid}").json()["message_count"] == 2
    server.close()
    container.close()


def test_chat_completions_with_a_verity_model_read_the_whole_message_list(
    landmarks: tuple[Container, str],
) -> None:
    _, url = landmarks
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Who designed the Eiffel Tower?"},
        {"role": "assistant", "content": "The engineering company of Gustave Eiffel [1]."},
        {"role": "user", "content": "When was it completed?"},
    ]
    with httpx.Client(base_url=url, timeout=60) as http:
        reply = http.post("/v1/chat/completions", json={"model": "verity:landmarks", "messages": messages})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "1889" in body["choices"][0]["message"]["content"]
    assert body["citations"][0]["source"].endswith("eiffel.md")


def whole_source(messages: Sequence[ChatMessage]) -> str:
    """A rewrite from the table, or all of source [1] (cut at the answer's token limit)."""
    last = messages[-1].content
    if REWRITE_INSTRUCTION in last:
        return scripted_reply(messages)
    source = re.search(r"\[1\] \([^)]*\)\n(.*?)\n\n(\[2\]|Question:)", last, re.S)
    return f"{source.group(1)} [1]".replace("\n", " ") if source else "Not in your documents."


def test_a_conversation_longer_than_the_window_keeps_answering_and_reports_what_it_pruned(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    (tmp_path / "eiffel.md").write_text(EIFFEL)
    (tmp_path / "bridge.md").write_text(BRIDGE)
    window, answer_tokens = 600, 48
    engine = ScriptedEngine(whole_source, context_window=window)
    settings = Settings(data_dir=tmp_path / "data", max_answer_tokens=answer_tokens, safety="off")
    container = Container(settings, embedder=embedder, engine=engine)
    container.ingest_pipeline.ingest([tmp_path / "eiffel.md", tmp_path / "bridge.md"])
    questions = [
        *REWRITES,
        "Who designed the Eiffel Tower?",
        "How long is the main span of the Golden Gate Bridge?",
    ]
    server = serve(container)
    said = 0
    with httpx.Client(base_url=next(server), timeout=60) as http:
        cid = http.post("/v1/conversations", json={}).json()["id"]
        for i in range(12):
            answer = ask(http, cid, questions[i % len(questions)])
            said += len(str(answer["answer"]).split()) + len(questions[i % len(questions)].split())
            usage = answer["usage"]
            assert usage["prompt_tokens"] + answer_tokens <= window
    server.close()
    container.close()
    history = usage["history"]
    assert said > window  # the conversation no longer fits the model's window
    assert history["turns"] == 11 and history["kept"] >= 1 and history["dropped"] >= 1
    assert history["summarised"] >= 1 and history["tokens"] <= history["budget_tokens"]
    assert history["kept"] + history["summarised"] + history["dropped"] == 11
    last_prompt = engine.prompts[-1]
    assert SUMMARY_PREFIX in last_prompt[0].content and len(last_prompt) == 2 + 2 * history["kept"]
