"""`POST /v1/embeddings` against the real MiniLM model, over real HTTP (uvicorn on loopback)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from app.container import Container
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import serve


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Iterator[str]:
    """A server with the real embedder; no answer is asked for, so the engine is scripted and the safety
    filter's second stage (a llama.cpp encoder) is off."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("embeddings"), safety_encoder="")
    container = Container(settings, embedder=embedder, engine=ScriptedEngine(lambda _: ""))
    server = serve(container)
    yield next(server)
    server.close()
    container.close()


def embed(url: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/embeddings", json={"model": "default", **body}, timeout=60)


def test_float_embeddings_follow_the_openai_schema(url: str) -> None:
    body = embed(url, input=["a duck", "a goose"]).json()
    assert body["object"] == "list" and body["model"] == "all-MiniLM-L6-v2"
    assert [d["index"] for d in body["data"]] == [0, 1]
    vector = np.array(body["data"][0]["embedding"])
    assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1) < 1e-3
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0


def test_base64_decodes_to_the_same_vector_as_float(url: str) -> None:
    floats = embed(url, input="the same text", model="all-MiniLM-L6-v2").json()["data"][0]["embedding"]
    encoded = embed(url, input="the same text", encoding_format="base64").json()
    decoded = np.frombuffer(base64.b64decode(encoded["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, floats, atol=1e-6)


def test_token_ids_of_the_models_own_tokenizer_embed_like_their_text(
    url: str, embedder: SentenceTransformerEmbedder
) -> None:
    tokenizer = embedder._model.tokenizer
    bare = tokenizer("ducks swim", add_special_tokens=False)["input_ids"]
    with_cls_and_sep = tokenizer("ducks swim")["input_ids"]  # what the tokenizer gives by default
    by_text = embed(url, input="ducks swim").json()["data"][0]["embedding"]
    for ids in (bare, with_cls_and_sep):
        by_ids = embed(url, input=ids).json()["data"][0]["embedding"]
        assert np.allclose(by_ids, by_text, atol=1e-5)
    both = embed(url, input=[bare, bare]).json()["data"]
    assert np.allclose(both[1]["embedding"], by_text, atol=1e-5)


@pytest.mark.parametrize(
    ("ids", "named"),
    [
        ([9906, 1917, 50280], "token id 50280, which is not in the vocabulary of all-MiniLM-L6-v2"),
        ([64, 2064], "token id 64, which is all-MiniLM-L6-v2's reserved token '[unused63]'"),
        ([0, 2064], "token id 0, which is all-MiniLM-L6-v2's reserved token '[PAD]'"),
        ([-1], "token id -1, which is not in the vocabulary"),
    ],
)
def test_token_ids_of_another_tokenizer_are_refused_with_a_400_that_says_so(
    url: str, ids: list[int], named: str
) -> None:
    for body in ({"input": ids}, {"input": [[2064], ids]}):
        response = embed(url, **body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["param"] == "input" and error["code"] == "token_ids_not_in_vocabulary"
        assert named in error["message"] and "tiktoken" in error["message"]


def test_unknown_model_is_404_model_not_found(url: str) -> None:
    response = embed(url, input="x", model="text-embedding-3-small")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_empty_input_and_wrong_dimensions_are_400(url: str) -> None:
    empty = embed(url, input=[""])
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "input"
    dims = embed(url, input="x", dimensions=128)
    assert dims.status_code == 400 and dims.json()["error"]["param"] == "dimensions"
