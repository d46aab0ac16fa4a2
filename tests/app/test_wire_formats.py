"""One scripted answer rendered through all four wire formats (Verity JSON and SSE, OpenAI chat JSON and
SSE): folded back on the client's side, the four agree on the answer, citations with spans, sources,
sentences, safety checks, answerability and usage; every SSE event carries an id."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.http.main import create_app
from app.settings import Settings
from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.sse import parse_sse_with_ids

REPLY = (
    "Ducks eat grasses, aquatic plants and small fish [{ducks}]. Geese fly south in large flocks [{geese}]."
    " Done."
)
QUESTION = "What do ducks eat and where do geese fly?"


def reply(messages: Sequence[ChatMessage]) -> str:
    """REPLY citing the sources' own numbers (right markers, so no format rewrites them: streamed deltas
    carry the model's text, and only the final answer has corrected markers)."""
    prompt = messages[-1].content
    number = {name: prompt.index(f"({name}.md") for name in ("ducks", "geese")}
    ducks, geese = (1, 2) if number["ducks"] < number["geese"] else (2, 1)
    return REPLY.format(ducks=ducks, geese=geese)


class ScoringEngine(ScriptedEngine):
    """The scripted engine, answering the answerability check with a confident yes."""

    def choice_logprobs(self, messages: Sequence[ChatMessage], choices: Sequence[str]) -> dict[str, float]:
        scores = {"yes": -0.05, "Yes": -4.0, "no": -4.0, "No": -5.0}
        return {c: scores[c] for c in choices}


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("formats")
    (root / "ducks.md").write_text("# Ducks\n\nDucks eat grasses, aquatic plants, insects and small fish.\n")
    (root / "geese.md").write_text("# Geese\n\nGeese fly south in large flocks every autumn.\n")
    settings = Settings(data_dir=root / "data", max_answer_tokens=64, safety_encoder="")
    container = Container(settings, embedder=embedder, engine=ScoringEngine(reply))
    container.ingest_pipeline.ingest([root / "ducks.md", root / "geese.md"])
    with TestClient(create_app(container)) as test_client:
        yield test_client
    container.close()


def folded(answer: str, extras: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    """What every format must agree on."""
    return {
        "answer": answer.strip(),
        "citations": extras["citations"],
        "sources": extras["sources"],
        "sentences": extras["sentences"],
        "safety": extras["safety"],
        "answerability": extras["answerability"],
        "search_query": extras["search_query"],
        "declined_because": extras.get("declined_because"),  # a chunk leaves out what is None
        "closest_passages": extras["closest_passages"],
        "usage": {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")},
    }


def verity_json(client: TestClient) -> dict[str, Any]:
    body = client.post("/v1/answers", json={"question": QUESTION}).json()
    return folded(body["answer"], body, body["usage"])


def verity_sse(client: TestClient) -> dict[str, Any]:
    frames = parse_sse_with_ids(client.post("/v1/answers", json={"question": QUESTION, "stream": True}).text)
    assert frames[-1][2] == "[DONE]"
    events = frames[:-1]
    ids = [id_ for _, id_, _ in events]
    assert all(ids) and len(set(ids)) == len(ids), "every event has its own id"
    assert len({i.rsplit(":", 1)[0] for i in ids}) == 1, "one stream id"
    done = events[-1][2]
    assert events[-1][0] == "done" and ids[0].startswith(done["id"])
    assert "".join(d["text"] for name, _, d in events if name == "delta").strip() == done["answer"]
    (sources,) = [d["sources"] for name, _, d in events if name == "sources"]
    assert sources == done["sources"]
    assert [d for name, _, d in events if name == "safety"] == done["safety"]
    return folded(done["answer"], done, done["usage"])


def chat_body(stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "verity", "messages": [{"role": "user", "content": QUESTION}]}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def chat_json(client: TestClient) -> dict[str, Any]:
    body = client.post("/v1/chat/completions", json=chat_body(False)).json()
    return folded(body["choices"][0]["message"]["content"], body, body["usage"])


def chat_sse(client: TestClient) -> dict[str, Any]:
    frames = parse_sse_with_ids(client.post("/v1/chat/completions", json=chat_body(True)).text)
    assert frames[-1][2] == "[DONE]"
    chunks = [data for _, _, data in frames[:-1]]
    ids = [id_ for _, id_, _ in frames[:-1]]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(i.startswith(chunks[0]["id"]) for i in ids)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    (final,) = [c for c in chunks if c["choices"] and c["choices"][0].get("finish_reason")]
    streamed_safety = [s for c in chunks if c is not final for s in c.get("safety", [])]
    assert streamed_safety == final["safety"], "the safety checks are streamed as they happen"
    assert [c["sentence"]["text"] for c in chunks if "sentence" in c] == [
        s["text"] for s in final["sentences"]
    ], "every sentence is streamed with its check (the last one when the answer ends)"
    return folded(text, final, chunks[-1]["usage"])


def test_the_four_wire_formats_fold_to_the_same_answer(client: TestClient) -> None:
    results = [verity_json(client), verity_sse(client), chat_json(client), chat_sse(client)]
    first = results[0]
    assert first["answer"] in (REPLY.format(ducks=1, geese=2), REPLY.format(ducks=2, geese=1))
    assert sorted(c["number"] for c in first["citations"]) == [1, 2]
    assert all(c["span_end"] > c["span_start"] for c in first["citations"])
    assert first["sources"] and first["safety"] and first["answerability"]["answered"]
    assert first["usage"]["completion_tokens"] == len(first["answer"].split())
    for other in results[1:]:
        assert other == first
