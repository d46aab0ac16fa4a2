"""The official `openai` package, unmodified, against a real Verity server on loopback."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator

import numpy as np
import openai
import pytest

from tests.app.conftest import WatchedEngine

pytestmark = pytest.mark.llm

QUESTION = "Which file formats can Verity read?"


@pytest.fixture(scope="module")
def client(served: tuple[str, WatchedEngine]) -> openai.OpenAI:
    url, _ = served
    return openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed-yet", max_retries=0, timeout=120)


@pytest.fixture(autouse=True)
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert [str(w.message) for w in caught] == []


def test_models_list_names_rag_engine_and_embedder(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[:2] == ["verity", "verity:demo"]
    assert "all-MiniLM-L6-v2" in ids and "qwen2.5-coder-1.5b-instruct-q4_k_m" in ids
    assert client.models.retrieve("verity:demo").owned_by == "verity"


def test_embeddings_float_default_and_base64(client: openai.OpenAI) -> None:
    floats = client.embeddings.create(input=["ducks swim"], model="default", encoding_format="float")
    default = client.embeddings.create(input="ducks swim", model="all-MiniLM-L6-v2")
    raw = client.embeddings.create(input="ducks swim", model="default", encoding_format="base64")
    vector = floats.data[0].embedding
    assert len(vector) == 384 and floats.usage.prompt_tokens > 0
    assert np.allclose(default.data[0].embedding, vector, atol=1e-6)
    decoded = np.frombuffer(base64.b64decode(str(raw.data[0].embedding)), dtype="<f4")
    assert np.allclose(decoded, vector, atol=1e-6)


def test_chat_completion_grounded_in_a_collection(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="verity:demo", messages=[{"role": "user", "content": QUESTION}]
    )
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and "PDF" in (choice.message.content or "")
    assert choice.finish_reason in ("stop", "length")
    assert completion.usage is not None and completion.usage.total_tokens > completion.usage.completion_tokens
    citations = (completion.model_extra or {})["citations"]
    assert citations and any("PDF" in c["text"] for c in citations)


def test_streamed_chat_completion_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="verity",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "PDF" in text
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finish) == 1 and (finish[0].model_extra or {}).get("citations")
    assert (
        chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    )


def test_plain_engine_chat_uses_the_whole_conversation(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="qwen2.5-coder-1.5b-instruct-q4_k_m",
        max_tokens=16,
        temperature=0,
        messages=[
            {"role": "system", "content": "Answer with one word."},
            {"role": "user", "content": "My cat is called Pimento. Remember it."},
            {"role": "assistant", "content": "Remembered."},
            {"role": "user", "content": "What is my cat called?"},
        ],
    )
    assert "pimento" in (completion.choices[0].message.content or "").lower()
    assert (completion.model_extra or {})["citations"] == []


def test_errors_arrive_as_openai_exceptions(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="verity", n=2, messages=[{"role": "user", "content": "hi"}])
    assert bad.value.status_code == 400
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(input="x", model="text-embedding-3-small")
