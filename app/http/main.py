"""The FastAPI application: routers, error handlers, and models loaded once at start-up."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app.container import Container
from app.governance.schedule import governance_tasks
from app.http import (
    routes_account,
    routes_admin,
    routes_answers,
    routes_chat,
    routes_collections,
    routes_conversations,
    routes_document_files,
    routes_documents,
    routes_embeddings,
    routes_engines,
    routes_feedback,
    routes_governance,
    routes_health,
    routes_jobs,
    routes_models,
    routes_passages,
    routes_usage,
)
from app.http.api_docs import install_api_docs
from app.http.errors import install_error_handlers
from app.http.metrics import HttpMetrics
from app.http.metrics import router as metrics_router
from app.http.openapi import install_openapi
from app.http.request_ids import RequestIds
from app.http.security_headers import SecurityHeaders
from app.web import mount_web


def create_app(container: Container, on_ready: Callable[[], None] | None = None) -> FastAPI:
    """The HTTP app over a container; its models are loaded (off the event loop) before serving."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(container.warm_up)
        if on_ready is not None:
            on_ready()
        async with governance_tasks(container):
            yield

    app = FastAPI(
        title="Verity",
        version="0.1.0",
        lifespan=lifespan,
        description="Answers questions over your own documents, with cited passages.",
        docs_url=None,  # served by app.http.api_docs from vendored files, not from a CDN
        redoc_url=None,
    )
    app.state.container = container
    app.add_middleware(SecurityHeaders)
    app.state.metrics = container.metrics
    app.add_middleware(HttpMetrics, metrics=container.metrics)
    app.add_middleware(RequestIds)  # outermost: every response, errors included, carries the id
    install_error_handlers(app)
    install_openapi(app)
    install_api_docs(app)
    app.state.started_at = int(time.time())
    routers = (
        routes_answers,
        routes_conversations,
        routes_passages,
        routes_chat,
        routes_embeddings,
        routes_models,
        routes_documents,
        routes_jobs,
        routes_collections,
        routes_health,
        routes_usage,
        routes_account,
        routes_feedback,
        routes_document_files,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(routes_admin.router, include_in_schema=False)  # its own schema, admin key only
    app.include_router(routes_engines.router, include_in_schema=False)  # admin key only
    app.include_router(routes_governance.router, include_in_schema=False)  # admin key only
    app.include_router(metrics_router)
    mount_web(app)
    return app
