"""`GET /healthz` (liveness, what the server holds) and `GET /readyz` (every configured backend answers)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from app.container import Container
from app.http.deps import get_container
from app.http.errors import error_responses
from app.http.schemas import BackendOut, HealthOut, ReadyOut

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


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
def ready(container: Container = Depends(get_container)) -> JSONResponse:
    """Readiness: the database and its schema, Redis and the vector store, each as configured; 503 and
    the names of those that do not answer when any does not (a load balancer stops sending requests)."""
    checks = container.backend_checks()
    down = [c.name for c in checks if not c.ok]
    body = ReadyOut(
        status="unavailable" if down else "ready",
        down=down,
        backends=[BackendOut(**asdict(c)) for c in checks],
    )
    return JSONResponse(body.model_dump(), status_code=503 if down else 200)
