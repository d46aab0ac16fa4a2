"""The OpenAI-compatible HTTP engine: against a mock transport, then a real llama-server on loopback."""

from __future__ import annotations

import json

import httpx
import pytest

from generation.answer import AnswerPipeline, DoneEvent
from generation.engines.openai_http import OpenAIHttpEngine
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.errors import EngineFailed, EngineTimeout
from retrieval.types import Scope
from tests.generation.engines.conftest import SERVER_MODEL
from tests.generation.helpers import FixedRetriever, passage

ASK = [ChatMessage("user", "What is 2 + 3? Answer with the number only.")]


def _sse(*texts: str) -> bytes:
    events = [{"choices": [{"delta": {"content": t}}]} for t in texts]
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"


def test_streams_deltas_and_sends_the_request_openai_style() -> None:
    seen: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/tokenize":
            return httpx.Response(404)
        seen.append(json.loads(request.content))
        assert request.headers["authorization"] == "Bearer k"
        return httpx.Response(200, content=_sse("Fi", "ve", "."))

    engine = OpenAIHttpEngine("http://x/v1", "m", api_key="k", transport=httpx.MockTransport(handle))
    assert list(engine.stream(ASK, GenerationParams(max_tokens=5, stop=("\n",)))) == ["Fi", "ve", "."]
    assert seen[0]["model"] == "m" and seen[0]["stream"] is True and seen[0]["stop"] == ["\n"]
    assert engine.count_tokens("abcdefgh") == 2  # no /tokenize: four characters a token


def test_server_errors_and_timeouts_are_named() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"message": "loading"}})

    def stall(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(EngineFailed, match="503"):
        list(
            OpenAIHttpEngine("http://x", "m", transport=httpx.MockTransport(refuse)).stream(
                ASK, GenerationParams()
            )
        )
    with pytest.raises(EngineTimeout):
        list(
            OpenAIHttpEngine("http://x", "m", transport=httpx.MockTransport(stall)).stream(
                ASK, GenerationParams()
            )
        )


@pytest.mark.llm
def test_real_llama_server_streams_an_answer_and_counts_tokens(llama_server: str) -> None:
    engine = OpenAIHttpEngine(f"{llama_server}/v1", SERVER_MODEL)
    pieces = list(engine.stream(ASK, GenerationParams(max_tokens=8, temperature=0.0)))
    assert len(pieces) >= 1 and "5" in "".join(pieces)
    assert engine.count_tokens("hello world, hello world") == len(
        httpx.post(f"{llama_server}/tokenize", json={"content": "hello world, hello world"}).json()["tokens"]
    )


@pytest.fixture(params=["llama_server", "llama_cpp_python_server"])
def server(request: pytest.FixtureRequest) -> str:
    """Each real OpenAI-compatible server in turn."""
    return str(request.getfixturevalue(request.param))


@pytest.mark.llm
def test_real_server_answers_through_the_pipeline(server: str) -> None:
    engine = OpenAIHttpEngine(server, SERVER_MODEL)
    source = passage("The Zorblat 9000 vacuum cleaner was released in 2031 and weighs 4.2 kilograms.")
    pipeline = AnswerPipeline(FixedRetriever([source]), engine, params=GenerationParams(max_tokens=40))
    done = list(pipeline.run("How much does the Zorblat 9000 weigh?", Scope()))[-1]
    assert isinstance(done, DoneEvent)
    assert "4.2" in done.answer
    assert done.usage.prompt_tokens > done.usage.context_tokens > 0


def test_unreachable_server_fails_with_a_named_error() -> None:
    engine = OpenAIHttpEngine("http://127.0.0.1:9", "m", timeout_s=2)
    with pytest.raises(EngineFailed, match="cannot reach"):
        list(engine.stream(ASK, GenerationParams()))


def test_choice_logprobs_read_the_servers_top_logprobs() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["max_tokens"] == 1 and body["logprobs"] is True
        top = [{"token": "yes", "logprob": -0.2}, {"token": "no", "logprob": -1.8}]
        return httpx.Response(200, json={"choices": [{"logprobs": {"content": [{"top_logprobs": top}]}}]})

    engine = OpenAIHttpEngine("http://x", "m", transport=httpx.MockTransport(handle))
    assert engine.choice_logprobs(ASK, ("yes", "no", "Yes")) == {"yes": -0.2, "no": -1.8, "Yes": -30.0}
