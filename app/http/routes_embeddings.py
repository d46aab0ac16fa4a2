"""`POST /v1/embeddings`, following OpenAI's request and response schema."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Depends

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import ApiError, error_responses
from app.http.routes_answers import GATEWAY_ERRORS
from app.http.schemas import (
    MAX_EMBEDDING_INPUTS,
    EmbeddingOut,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
)
from app.token_input import decode_token_ids
from retrieval.embedders import Embedder

router = APIRouter(tags=["embeddings"])


def input_texts(body: EmbeddingRequest, embedder: Embedder) -> list[str]:
    """The request's input as texts; token ids are decoded with the embedding model's vocabulary."""
    raw = body.input
    if isinstance(raw, str):
        texts = [raw]
    elif raw and all(isinstance(item, int) for item in raw):
        texts = [decode_token_ids(raw, embedder)]  # type: ignore[arg-type]
    else:
        texts = [item if isinstance(item, str) else decode_token_ids(item, embedder) for item in raw]  # type: ignore[arg-type]
    if not texts or any(not text.strip() for text in texts):
        raise ApiError(400, "input must not be empty, and no item of it may be empty", param="input")
    if len(texts) > MAX_EMBEDDING_INPUTS:
        raise ApiError(
            400, f"input holds {len(texts)} items; at most {MAX_EMBEDDING_INPUTS} per request", param="input"
        )
    return texts


def check_model(body: EmbeddingRequest, embedder: Embedder) -> None:
    """Accept the configured embedder's name, or 'default'; dimensions only when it is the model's own."""
    if body.model not in ("default", embedder.name):
        raise ApiError(
            404,
            f"the model {body.model!r} does not exist; use {embedder.name!r} or 'default'",
            param="model",
            code="model_not_found",
        )
    if body.dimensions is not None and body.dimensions != embedder.dimension:
        raise ApiError(
            400,
            f"{embedder.name} gives {embedder.dimension} dimensions and cannot be shortened "
            f"to {body.dimensions}",
            param="dimensions",
        )


@router.post(
    "/v1/embeddings", response_model=EmbeddingResponse, responses=error_responses(400, *GATEWAY_ERRORS, 404)
)
async def create_embeddings(
    body: EmbeddingRequest,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("embeddings")),
) -> EmbeddingResponse:
    """Embed text with the configured sentence-transformers model; concurrent calls share one model call."""
    embedder = container.embedder
    check_model(body, embedder)
    caller.check_model(embedder.name)
    embedded = await container.embedding_service.embed(caller, input_texts(body, embedder))
    tokens = embedded.tokens
    data = [
        EmbeddingOut(
            index=i,
            embedding=(
                base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode()
                if body.encoding_format == "base64"
                else [float(x) for x in v]
            ),
        )
        for i, v in enumerate(embedded.vectors)
    ]
    return EmbeddingResponse(
        data=data, model=embedder.name, usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens)
    )
