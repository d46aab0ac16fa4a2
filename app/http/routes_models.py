"""`GET /v1/models` and `GET /v1/models/{model}`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import ApiError, error_responses
from app.http.model_routing import RAG_MODEL, model_ids
from app.http.openai_schemas import ModelList, ModelOut

router = APIRouter(tags=["models"])


def _models(request: Request, container: Container, caller: Caller) -> list[ModelOut]:
    created = int(request.app.state.started_at)
    allowed = caller.scopes.models
    return [
        ModelOut(id=i, created=created, owned_by=owner)
        for i, owner in model_ids(container, caller.tenant)
        if (allowed is None or i in allowed) and _collection_visible(i, caller)
    ]


def _collection_visible(model_id: str, caller: Caller) -> bool:
    """`verity:<collection>` models only for collections the key may use."""
    prefix, _, collection = model_id.partition(":")
    return prefix != RAG_MODEL or not collection or caller.may_see(collection)


@router.get("/v1/models", response_model=ModelList, responses=error_responses())
def list_models(
    request: Request,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("models")),
) -> ModelList:
    """The chat models (`verity`, `verity:<collection>`, the engine) and the embedding model."""
    return ModelList(data=_models(request, container, caller))


@router.get("/v1/models/{model:path}", response_model=ModelOut, responses=error_responses(404))
def retrieve_model(
    model: str,
    request: Request,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("models")),
) -> ModelOut:
    """One model by id."""
    for found in _models(request, container, caller):
        if found.id == model:
            return found
    raise ApiError(404, f"the model {model!r} does not exist", param="model", code="model_not_found")
