"""The chat UI's page and static files. The app's security headers (`app.http.security_headers`) come
with every response: a Content-Security-Policy under which no inline script or style may run."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response
from starlette.types import Scope

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


class RevalidatedStaticFiles(StaticFiles):
    """Static files revalidated on each load (no stale script after an update)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file, marked to be revalidated."""
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The chat UI."""
    response = templates.TemplateResponse(request, "index.html", {"title": "Verity"})
    response.headers["Cache-Control"] = "no-store"
    return response


def mount_web(app: FastAPI) -> None:
    """Serve the chat UI at `/` and its assets at `/static`."""
    app.include_router(router)
    app.mount("/static", RevalidatedStaticFiles(directory=HERE / "static"), name="static")
