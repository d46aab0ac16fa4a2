"""Server-sent events, and running a blocking event generator off the event loop.

Every stream: typed events, each with an `id:` field (the stream's id and the event's number,
`<id>:<n>`), then `data: [DONE]`. A failure mid-stream becomes an `error` event (OpenAI's
error body) before `[DONE]`. When the client goes away the producer stops at its next event, which
closes the engine's generator and so stops generation.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from app.http.errors import api_error_from, error_body

T = TypeVar("T")
_END = object()


def sse(event: str | None, data: Any, id_: str | None = None) -> str:
    """One SSE frame (with an `id:` field when `id_` is given)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    head += f"id: {id_}\n" if id_ else ""
    return f"{head}data: {payload}\n\n"


DONE_FRAME = sse(None, "[DONE]")

# How OpenAPI describes one event of these streams; `data` holds JSON, or `[DONE]` at the end.
SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
    "required": ["data"],
}


async def iterate_in_thread(make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    """Run a blocking generator in one worker thread, yielding its items; stop it when the consumer stops."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[object, BaseException | None]] = asyncio.Queue()
    stop = threading.Event()

    def put(item: object, exc: BaseException | None = None) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, (item, exc))

    def produce() -> None:
        items = make()
        try:
            for item in items:
                if stop.is_set():
                    return
                put(item)
        except Exception as exc:
            put(None, exc)
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        put(_END)

    producer = loop.run_in_executor(None, produce)
    try:
        while True:
            item, exc = await queue.get()
            if exc is not None:
                raise exc
            if item is _END:
                break
            yield item  # type: ignore[misc]
    finally:
        stop.set()
    await producer


async def sse_stream(frames: AsyncIterator[str]) -> AsyncIterator[str]:
    """Pass frames through, turning a failure into an error event, and always end with `[DONE]`."""
    try:
        async for frame in frames:
            yield frame
    except Exception as exc:
        error = api_error_from(exc)
        yield sse("error", error_body(error.message, error.type, error.param, error.code))
    yield DONE_FRAME
