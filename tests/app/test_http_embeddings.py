"""`POST /v1/embeddings` against the real MiniLM model."""

from __future__ import annotations

import base64

import numpy as np
from fastapi.testclient import TestClient

from retrieval.embedders import SentenceTransformerEmbedder


def test_float_embeddings_follow_the_openai_schema(client: TestClient) -> None:
    body = client.post("/v1/embeddings", json={"input": ["a duck", "a goose"], "model": "default"}).json()
    assert body["object"] == "list" and body["model"] == "all-MiniLM-L6-v2"
    assert [d["index"] for d in body["data"]] == [0, 1]
    vector = np.array(body["data"][0]["embedding"])
    assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1) < 1e-3
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0


def test_base64_decodes_to_the_same_vector_as_float(client: TestClient) -> None:
    request = {"input": "the same text", "model": "all-MiniLM-L6-v2"}
    floats = client.post("/v1/embeddings", json=request).json()["data"][0]["embedding"]
    encoded = client.post("/v1/embeddings", json={**request, "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(encoded["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, floats, atol=1e-6)


def test_token_ids_embed_like_their_text(client: TestClient, embedder: SentenceTransformerEmbedder) -> None:
    ids = embedder._model.tokenizer("ducks swim", add_special_tokens=False)["input_ids"]
    by_ids = client.post("/v1/embeddings", json={"input": ids, "model": "default"}).json()
    by_text = client.post("/v1/embeddings", json={"input": "ducks swim", "model": "default"}).json()
    assert np.allclose(by_ids["data"][0]["embedding"], by_text["data"][0]["embedding"], atol=1e-5)


def test_unknown_model_is_404_model_not_found(client: TestClient) -> None:
    response = client.post("/v1/embeddings", json={"input": "x", "model": "text-embedding-3-small"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_empty_input_and_wrong_dimensions_are_400(client: TestClient) -> None:
    empty = client.post("/v1/embeddings", json={"input": [""], "model": "default"})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "input"
    dims = client.post("/v1/embeddings", json={"input": "x", "model": "default", "dimensions": 128})
    assert dims.status_code == 400 and dims.json()["error"]["param"] == "dimensions"
