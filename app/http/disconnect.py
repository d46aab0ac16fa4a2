"""Work for a client that may leave: a non-streamed request whose client has gone is cancelled (and so
settled as cut short, status 499), as a stream is when its client leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Request

from app.http.errors import ApiError

T = TypeVar("T")
CLIENT_CLOSED = 499


async def client_gone(request: Request) -> None:
    """Return once the client has disconnected (the request's body has been read by then)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_client_leaves(request: Request, work: Awaitable[T]) -> T:
    """The result of `work`, or, when the client disconnects first, `work` cancelled and an error
    (status 499, which no one reads)."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(client_gone(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        raise ApiError(CLIENT_CLOSED, "the client closed the request", code="client_closed")
    return task.result()
