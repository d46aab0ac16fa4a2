"""A request id on every request: taken from the client's `X-Request-Id` when well formed, else made
here; sent back in the response's `X-Request-Id`, kept in a context variable for the JSON logs
(app.logs), and logged once per request in an access line (method, route, status, duration).

A plain ASGI middleware, so streamed responses pass through untouched.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
"""What a client-sent id must look like to be kept: 1-128 letters, digits and . _ : - (no spaces, no
control characters, nothing a log reader could be fooled by)."""

request_id: ContextVar[str | None] = ContextVar("verity_request_id", default=None)
access_log = logging.getLogger("verity.access")


def new_request_id() -> str:
    """A fresh request id."""
    return f"req_{uuid.uuid4().hex}"


def chosen_request_id(sent: bytes | None) -> str:
    """The client's id when well formed, else a fresh one."""
    if sent is not None:
        text = sent.decode("latin-1")
        if WELL_FORMED.fullmatch(text):
            return text
    return new_request_id()


class RequestIds:
    """Gives every HTTP request an id (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through with its id set, and add the id to the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = chosen_request_id(dict(scope["headers"]).get(HEADER))
        token = request_id.set(rid)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", scope["path"])
            ms = round((time.perf_counter() - started) * 1000, 1)
            extra = {"method": scope["method"], "route": route, "status": status, "duration_ms": ms}
            access_log.info("%s %s %d", scope["method"], route, status, extra=extra)
            request_id.reset(token)
