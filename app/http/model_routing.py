"""Which models the API offers, and which pipeline a chat model name selects."""

from __future__ import annotations

from dataclasses import dataclass

from app.container import Container
from app.http.errors import ApiError
from app.names import InvalidName, check_collection_name
from retrieval.types import DEFAULT_TENANT

RAG_MODEL = "verity"


@dataclass(frozen=True)
class ChatRoute:
    """A grounded answer over a collection (None: every collection), or the plain engine."""

    grounded: bool
    collection: str | None = None


def rag_model_name(collection: str | None) -> str:
    """The chat model name that answers from a collection (or from every document)."""
    return RAG_MODEL if collection is None else f"{RAG_MODEL}:{collection}"


def collection_names(container: Container, tenant: str = DEFAULT_TENANT) -> list[str]:
    """A tenant's collections."""
    return [c.name for c in container.catalog.list_collections(tenant)]


def route_chat_model(model: str, container: Container, tenant: str = DEFAULT_TENANT) -> ChatRoute:
    """The pipeline a chat model name selects; unknown names are 404, the embedder is 400."""
    if model == RAG_MODEL:
        return ChatRoute(grounded=True)
    if model.startswith(f"{RAG_MODEL}:"):
        collection = model[len(RAG_MODEL) + 1 :]
        try:
            check_collection_name(collection)
        except InvalidName as exc:
            raise ApiError(400, f"model {model!r}: {exc}", param="model", code="invalid_value") from exc
        if collection in collection_names(container, tenant):
            return ChatRoute(grounded=True, collection=collection)
        raise ApiError(
            404,
            f"the model {model!r} does not exist: no collection named {collection!r}",
            param="model",
            code="model_not_found",
        )
    if model == container.engine.name:
        return ChatRoute(grounded=False)
    if model == container.embedder.name:
        raise ApiError(
            400,
            f"{model!r} is an embedding model: use it with /v1/embeddings",
            param="model",
            code="model_not_supported",
        )
    raise ApiError(
        404,
        f"the model {model!r} does not exist; GET /v1/models lists them",
        param="model",
        code="model_not_found",
    )


def model_ids(container: Container, tenant: str = DEFAULT_TENANT) -> list[tuple[str, str]]:
    """Every model id the API accepts from a tenant, with its owner."""
    ids = [(RAG_MODEL, "verity")]
    ids += [(rag_model_name(name), "verity") for name in collection_names(container, tenant)]
    return [*ids, (container.engine.name, "llama.cpp"), (container.embedder.name, "sentence-transformers")]
