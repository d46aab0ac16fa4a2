"""Embeddings (`/v1/embeddings`): texts in, vectors out, metered; concurrent calls share one model call.
The embedder is not the engine, so embeddings take no turn in the engine's fair queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from app.gateway.keys import Caller
from app.gateway.scheduler import EmbeddingBatcher, Vectors
from app.gateway.service import Gateway
from app.serving.admission import Admission, admit, settled
from retrieval.embedders import Embedder


@dataclass(frozen=True)
class Embedded:
    """The vectors of the texts, in order, and the tokens read (each text's, up to the model's limit)."""

    vectors: Vectors
    tokens: int
    model: str


class Embeddings:
    """Embedding texts for a caller, admitted and settled."""

    def __init__(self, gateway: Gateway, embedder: Embedder, batcher: EmbeddingBatcher) -> None:
        self._gateway, self._embedder, self._batcher = gateway, embedder, batcher

    async def embed(self, caller: Caller, texts: Sequence[str]) -> Embedded:
        """The texts' vectors (the caller must be allowed the embedding model)."""
        embedder = self._embedder
        caller.check_model(embedder.name)
        counts = await run_in_threadpool(embedder.count_tokens, texts)
        tokens = sum(min(n, embedder.max_tokens) for n in counts)
        admission = Admission("embeddings", embedder.name, tokens, tokens, engine=False)
        ticket = await admit(self._gateway, caller, admission)
        async with settled(self._gateway, ticket, tokens) as meter:
            vectors = await self._batcher.embed(texts)
            meter.tokens_in, meter.status = tokens, 200
        return Embedded(vectors, tokens, embedder.name)
