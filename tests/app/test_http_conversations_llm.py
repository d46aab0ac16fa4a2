"""A conversation through real HTTP with the real llama.cpp model: the follow-up's pronoun is resolved by
the model's rewrite, and the answer comes from the passage about what it refers to."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.container import Container
from app.settings import Settings
from generation.engines.llama_cpp import LlamaCppEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import serve
from tests.app.test_http_conversations import BRIDGE, EIFFEL, ask


@pytest.mark.llm
def test_the_model_makes_a_pronoun_follow_up_standalone(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, engine: LlamaCppEngine
) -> None:
    (tmp_path / "eiffel.md").write_text(EIFFEL)
    (tmp_path / "bridge.md").write_text(BRIDGE)
    settings = Settings(data_dir=tmp_path / "data", max_answer_tokens=48, safety="off")
    container = Container(settings, embedder=embedder, engine=engine)
    container.ingest_pipeline.ingest([tmp_path / "eiffel.md", tmp_path / "bridge.md"])
    server = serve(container)
    with httpx.Client(base_url=next(server), timeout=600) as http:
        cid = http.post("/v1/conversations", json={}).json()["id"]
        ask(http, cid, "Who was the chief engineer of the Golden Gate Bridge?")
        follow_up = ask(http, cid, "When did it open to traffic?")
    server.close()
    container.close()
    assert follow_up["rewrite"] == "engine"
    assert "golden gate" in follow_up["standalone_question"].lower()
    assert follow_up["sources"][0]["source"].endswith("bridge.md")
    assert "1937" in follow_up["answer"]
