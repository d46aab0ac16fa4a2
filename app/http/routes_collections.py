"""`/v1/collections`: list, read and delete collections of documents."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import error_responses
from app.http.known_fields import known_fields_only
from app.http.model_routing import rag_model_name
from app.http.openai_schemas import CollectionDeleted, CollectionList, CollectionOut
from app.names import CollectionName
from retrieval.catalog import CollectionStats

router = APIRouter(tags=["collections"], dependencies=[Depends(known_fields_only)])


def collection_out(stats: CollectionStats) -> CollectionOut:
    """Render a collection."""
    return CollectionOut(
        id=stats.name, documents=stats.documents, chunks=stats.chunks, model=rag_model_name(stats.name)
    )


@router.get("/v1/collections", response_model=CollectionList, responses=error_responses())
def list_collections(
    container: Container = Depends(get_container), caller: Caller = Depends(authorize("collections"))
) -> CollectionList:
    """Every collection, with its document and chunk counts."""
    return CollectionList(data=[collection_out(c) for c in container.library.collections(caller)])


@router.get("/v1/collections/{name}", response_model=CollectionOut, responses=error_responses(400, 404))
def get_collection(
    name: CollectionName,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("collections")),
) -> CollectionOut:
    """One collection."""
    return collection_out(container.library.collection(caller, name))


@router.delete(
    "/v1/collections/{name}", response_model=CollectionDeleted, responses=error_responses(400, 404)
)
def delete_collection(
    name: CollectionName,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("collections")),
) -> CollectionDeleted:
    """Delete a collection and all its documents, in one published index version."""
    deleted = container.library.delete_collection(caller, name)
    return CollectionDeleted(id=name, documents_deleted=len(deleted))
