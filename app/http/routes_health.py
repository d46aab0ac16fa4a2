"""`GET /healthz`."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.container import Container
from app.http.deps import get_container
from app.http.errors import error_responses
from app.http.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, responses=error_responses())
def health(container: Container = Depends(get_container)) -> HealthOut:
    """Liveness, and what the server holds: documents of all tenants together (no tenant is named)."""
    return HealthOut(
        documents=container.catalog.count_documents(),
        index_version=container.index.version,
        embedding_model=container.embedder.name,
        llm_model=container.engine.name,
    )
