"""Routing by model name, and falling back to a second engine when the first fails before answering."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from generation.engines.openai_http import OpenAIHttpEngine
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.engines.routing import EngineRouter, FallbackEngine
from generation.engines.scripted import ScriptedEngine
from generation.errors import EngineFailed, ModelNotFound
from tests.generation.engines.conftest import SERVER_MODEL

ASK = [ChatMessage("user", "What is 2 + 3? Answer with the number only.")]


class BrokenEngine(ScriptedEngine):
    """Fails before its first token, or after `after` tokens."""

    def __init__(self, after: int = 0) -> None:
        super().__init__(lambda _: "one two three")
        self._after = after

    @property
    def name(self) -> str:
        return "broken"

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        for i, piece in enumerate(super().stream(messages, params)):
            if i == self._after:
                raise EngineFailed("down")
            yield piece


def test_fallback_answers_when_the_primary_fails_before_its_first_token() -> None:
    engine = FallbackEngine(BrokenEngine(), ScriptedEngine(lambda _: "Five."))
    assert "".join(engine.stream(ASK, GenerationParams())) == "Five."
    assert engine.last_engine == "scripted"


def test_primary_answers_when_healthy_and_a_late_failure_is_not_hidden() -> None:
    healthy = FallbackEngine(ScriptedEngine(lambda _: "Five."), BrokenEngine())
    assert "".join(healthy.stream(ASK, GenerationParams())) == "Five."
    late = FallbackEngine(BrokenEngine(after=1), ScriptedEngine(lambda _: "Five."))
    with pytest.raises(EngineFailed):
        list(late.stream(ASK, GenerationParams()))


def test_router_finds_engines_by_name_and_names_unknown_ones() -> None:
    fast, slow = ScriptedEngine(lambda _: "a"), ScriptedEngine(lambda _: "b")
    router = EngineRouter({"fast": fast, "slow": slow}, default="slow")
    assert router.engine() is slow and router.engine("fast") is fast
    with pytest.raises(ModelNotFound, match="nope"):
        router.engine("nope")
    with pytest.raises(ModelNotFound):
        EngineRouter({"fast": fast}, default="slow")


@pytest.mark.llm
def test_unreachable_server_falls_back_to_a_real_server(llama_cpp_python_server: str) -> None:
    dead = OpenAIHttpEngine("http://127.0.0.1:9", "dead", timeout_s=2)
    live = OpenAIHttpEngine(llama_cpp_python_server, SERVER_MODEL)
    engine = FallbackEngine(dead, live)
    text = "".join(engine.stream(ASK, GenerationParams(max_tokens=8, temperature=0.0)))
    assert "5" in text and engine.last_engine == SERVER_MODEL
