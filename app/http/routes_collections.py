"""`/v1/collections`: list, read and delete collections of documents."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.container import Container
from app.gateway.keys import Caller
from app.governance.service import actor_of
from app.http import uploads
from app.http.deps import authorize, get_container
from app.http.errors import ApiError, error_responses
from app.http.known_fields import known_fields_only
from app.http.model_routing import rag_model_name
from app.http.openai_schemas import CollectionDeleted, CollectionList, CollectionOut
from app.names import CollectionName
from retrieval.types import Scope

router = APIRouter(tags=["collections"], dependencies=[Depends(known_fields_only)])


def _collections(container: Container, caller: Caller) -> list[CollectionOut]:
    return [
        CollectionOut(id=c.name, documents=c.documents, chunks=c.chunks, model=rag_model_name(c.name))
        for c in container.catalog.list_collections(caller.tenant)
        if caller.may_see(c.name)
    ]


def _find(container: Container, caller: Caller, name: str) -> CollectionOut:
    for collection in _collections(container, caller):
        if collection.id == name:
            return collection
    raise ApiError(404, f"no collection named {name!r}", param="name", code="collection_not_found")


@router.get("/v1/collections", response_model=CollectionList, responses=error_responses())
def list_collections(
    container: Container = Depends(get_container), caller: Caller = Depends(authorize("collections"))
) -> CollectionList:
    """Every collection, with its document and chunk counts."""
    return CollectionList(data=_collections(container, caller))


@router.get("/v1/collections/{name}", response_model=CollectionOut, responses=error_responses(400, 404))
def get_collection(
    name: CollectionName,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("collections")),
) -> CollectionOut:
    """One collection."""
    return _find(container, caller, name)


@router.delete(
    "/v1/collections/{name}", response_model=CollectionDeleted, responses=error_responses(400, 404)
)
def delete_collection(
    name: CollectionName,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("collections")),
) -> CollectionDeleted:
    """Delete a collection and all its documents, in one published index version."""
    _find(container, caller, name)
    ids = [d.id for d in container.catalog.list_documents(Scope(caller.tenant, name))]
    deleted = container.documents.delete(caller.tenant, ids)
    uploads.remove_kept(container, deleted)
    uploads.remove_collection(container, caller.tenant, name)
    details = {"documents": len(deleted)}
    container.audit.record(actor_of(caller), "collection.delete", name, caller.tenant, details)
    return CollectionDeleted(id=name, documents_deleted=len(deleted))
