"""Running a coroutine from a synchronous test, whatever ran before it.

pytest-playwright's sync API keeps an event loop running in the main thread once a browser test has
run (its fixtures are session-wide), and `asyncio.run` refuses to start inside a running loop. So a
test that needs to await runs its coroutine on a fresh loop in a thread of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coroutine)` in a thread of its own: safe while another loop runs in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
