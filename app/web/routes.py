"""The chat UI's page and static files, sent with security headers (no inline script may run)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response
from starlette.types import Scope

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


class SecuredStaticFiles(StaticFiles):
    """Static files with the security headers, revalidated on each load (no stale script after an update)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file, with the headers added."""
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-cache"
        return response


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The chat UI."""
    response = templates.TemplateResponse(request, "index.html", {"title": "Verity"})
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def mount_web(app: FastAPI) -> None:
    """Serve the chat UI at `/` and its assets at `/static`."""
    app.include_router(router)
    app.mount("/static", SecuredStaticFiles(directory=HERE / "static"), name="static")
