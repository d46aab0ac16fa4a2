"""`/v1/collections`: list, read and delete collections of documents."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.container import Container
from app.http import uploads
from app.http.deps import get_container
from app.http.errors import ApiError, error_responses
from app.http.model_routing import rag_model_name
from app.http.openai_schemas import CollectionDeleted, CollectionList, CollectionOut
from retrieval.types import DEFAULT_TENANT, Scope

router = APIRouter(tags=["collections"])


def _collections(container: Container) -> list[CollectionOut]:
    return [
        CollectionOut(id=c.name, documents=c.documents, chunks=c.chunks, model=rag_model_name(c.name))
        for c in container.catalog.list_collections(DEFAULT_TENANT)
    ]


def _find(container: Container, name: str) -> CollectionOut:
    for collection in _collections(container):
        if collection.id == name:
            return collection
    raise ApiError(404, f"no collection named {name!r}", param="name", code="collection_not_found")


@router.get("/v1/collections", response_model=CollectionList, responses=error_responses())
def list_collections(container: Container = Depends(get_container)) -> CollectionList:
    """Every collection, with its document and chunk counts."""
    return CollectionList(data=_collections(container))


@router.get("/v1/collections/{name}", response_model=CollectionOut, responses=error_responses(404))
def get_collection(name: str, container: Container = Depends(get_container)) -> CollectionOut:
    """One collection."""
    return _find(container, name)


@router.delete("/v1/collections/{name}", response_model=CollectionDeleted, responses=error_responses(404))
def delete_collection(name: str, container: Container = Depends(get_container)) -> CollectionDeleted:
    """Delete a collection and all its documents, in one published index version."""
    _find(container, name)
    ids = [d.id for d in container.catalog.list_documents(Scope(DEFAULT_TENANT, name))]
    deleted = container.index.delete_documents(DEFAULT_TENANT, ids)
    uploads.remove(uploads.collection_dir(container, name))
    return CollectionDeleted(id=name, documents_deleted=len(deleted))
