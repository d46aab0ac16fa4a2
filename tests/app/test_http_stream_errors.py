"""A failure in the middle of a stream becomes an error event, then the end marker."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from fastapi.testclient import TestClient

from app.container import Container
from app.http.main import create_app
from app.settings import Settings
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.engines.scripted import ScriptedEngine
from generation.errors import EngineFailed
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.sse import parse_sse, without_safety


class BreakingEngine(ScriptedEngine):
    """Streams two words, then fails the way llama.cpp failures reach the pipeline."""

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        yield "Ducks"
        yield " eat"
        raise EngineFailed("llama.cpp failed while generating: out of memory")


def test_mid_stream_failure_sends_an_error_event_then_done(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    engine = BreakingEngine(lambda _: "", context_window=4096)
    container = Container(Settings(data_dir=tmp_path, safety_encoder=""), embedder=embedder, engine=engine)
    (tmp_path / "ducks.md").write_text("# Ducks\n\nDucks eat grasses, aquatic plants, fish and insects.\n")
    container.ingest_pipeline.ingest([tmp_path / "ducks.md"])
    with TestClient(create_app(container)) as client:
        answer = client.post("/v1/answers", json={"question": "What do ducks eat?", "stream": True})
        chat = client.post(
            "/v1/chat/completions",
            json={"model": "scripted", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        )
        plain = client.post("/v1/answers", json={"question": "What do ducks eat?"})
    frames = without_safety(parse_sse(answer.text.splitlines()))
    assert [name for name, _ in frames] == ["sources", "delta", "delta", "error", None]
    assert frames[-2][1]["error"]["code"] == "engine_failed" and frames[-1][1] == "[DONE]"
    chat_frames = parse_sse(chat.text.splitlines())
    assert chat_frames[-2][1]["error"]["type"] == "server_error" and chat_frames[-1][1] == "[DONE]"
    assert plain.status_code == 502 and plain.json()["error"]["code"] == "engine_failed"
    container.close()
