"""The server's governance work on a schedule: the retention purge and the abuse scan, each every
`VERITY_PURGE_INTERVAL_S` / `VERITY_ABUSE_SCAN_INTERVAL_S` seconds (0: never), off the event loop.
At start-up the safety settings are audited when they changed since the last start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.concurrency import run_in_threadpool

from app.container import Container

log = logging.getLogger(__name__)


async def every(seconds: float, work: Callable[[], object], name: str) -> None:
    """Run `work` in a thread every `seconds`, first after one interval; a failure is logged, not fatal."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(work)
        except Exception:
            log.exception("scheduled %s failed", name)


@asynccontextmanager
async def governance_tasks(container: Container) -> AsyncIterator[None]:
    """Audit the safety settings, then purge and scan on their schedules while the server runs."""
    s = container.settings
    await run_in_threadpool(container.governance.note_safety_policy, s.safety, s.safety_policy)
    jobs = [
        (s.purge_interval_s, lambda: container.governance.purge("server"), "purge"),
        (s.abuse_scan_interval_s, container.abuse.scan, "abuse scan"),
    ]
    tasks = [asyncio.create_task(every(i, work, name)) for i, work, name in jobs if i > 0]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
