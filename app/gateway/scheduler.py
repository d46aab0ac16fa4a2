"""Sharing the scarce engine fairly: a weighted fair queue across tenants, and embedding micro-batches.

`FairScheduler` lets `capacity` requests run at once (the llama.cpp engine runs one generation at a
time). Waiting requests are served by priority tier first (higher first), then by start tag
(start-time fair queuing, Goyal et al. 1996): a request starts at the later of the queue's virtual
time (the start tag in service) and its tenant's previous finish, and finishes `cost / weight` later.
A flooding tenant's backlog is tagged ever further ahead, so a quiet tenant's next request is served
as soon as the one in service ends, instead of waiting behind that backlog. The queue is bounded
(503 past it, 429 when one tenant holds most of it). Each request has a deadline for its wait (the
scheduler's `deadline_s` unless the request brings its own): `check` predicts the wait from the
requests that would be served first and the engine's measured pace (a moving mean of turn lengths) and
sheds the request with 503 and Retry-After at admission when the prediction passes the deadline; a
request that still waits past it is shed the same way rather than left to time out.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from app.gateway.errors import Overloaded


@dataclass(order=True)
class _Waiter:
    rank: tuple[int, float, int]
    tenant: str = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)


class FairScheduler:
    """Weighted fair queuing of tenants in front of the engine, with tiers, a bounded depth and a deadline."""

    def __init__(
        self,
        capacity: int = 1,
        max_depth: int = 64,
        deadline_s: float = 60.0,
        weights: Mapping[str, float] | None = None,
        tiers: Mapping[str, int] | None = None,
        fifo: bool = False,
        pace_s: float = 1.0,
    ) -> None:
        self.capacity, self.max_depth, self.deadline_s, self.fifo = capacity, max_depth, deadline_s, fifo
        self._weights, self._tiers = dict(weights or {}), dict(tiers or {})
        self._running = 0
        self._waiting: list[_Waiter] = []
        self._virtual = 0.0
        self._last_tag: dict[str, float] = {}
        self._seq = itertools.count()
        self._mean_run_s = pace_s  # the pace assumed until turns are measured

    @property
    def depth(self) -> int:
        """Requests waiting now."""
        return len(self._waiting)

    def _tag(self, tenant: str, cost: float) -> float:
        if self.fifo:  # first come, first served: the baseline fair queuing is measured against
            self._virtual += 1.0
            return self._virtual
        start = max(self._virtual, self._last_tag.get(tenant, 0.0))
        self._last_tag[tenant] = start + cost / self._weights.get(tenant, 1.0)
        return start

    @property
    def pace_s(self) -> float:
        """The engine's measured pace: the moving mean length of a turn, in seconds."""
        return self._mean_run_s

    def predicted_wait(self, tenant: str, cost: float = 1.0) -> float:
        """Seconds a request of `tenant` arriving now would wait for its turn: the turns served before it
        (those waiting with an earlier rank, and one in service when every slot is busy) at the engine's
        measured pace."""
        tier = -self._tiers.get(tenant, 0)
        tag = self._virtual if self.fifo else max(self._virtual, self._last_tag.get(tenant, 0.0))
        ahead = sum(1 for w in self._waiting if w.rank[:2] <= (tier, tag) or self.fifo)
        busy = 1 if self._running >= self.capacity else 0
        return self._mean_run_s * (ahead + busy) / self.capacity

    def check(self, tenant: str, cost: float = 1.0, deadline_s: float | None = None) -> None:
        """Refuse now (Overloaded: 503, or 429 for a tenant filling the queue) a request that would find
        the queue full, or whose predicted wait passes its deadline."""
        self._admit_or_shed(tenant)
        deadline = self.deadline_s if deadline_s is None else deadline_s
        wait = self.predicted_wait(tenant, cost)
        if wait > deadline:
            raise Overloaded(
                f"the engine would take about {wait:.0f}s to start this request, past its deadline of "
                f"{deadline:g}s; retry later",
                wait,
            )

    def _admit_or_shed(self, tenant: str) -> None:
        retry = self._mean_run_s * (1 + len(self._waiting)) / self.capacity
        if len(self._waiting) >= self.max_depth:
            mine = sum(1 for w in self._waiting if w.tenant == tenant)
            status = 429 if mine * 2 > self.max_depth else 503
            raise Overloaded(
                f"the engine's queue is full ({self.max_depth} waiting); retry later", retry, status
            )

    def _dispatch(self) -> None:
        while self._running < self.capacity and self._waiting:
            waiter = min(self._waiting)
            self._waiting.remove(waiter)
            if waiter.future.done():
                continue
            if not self.fifo:
                self._virtual = max(self._virtual, waiter.rank[1])
            self._running += 1
            waiter.future.set_result(None)

    @asynccontextmanager
    async def turn(
        self, tenant: str, cost: float = 1.0, deadline_s: float | None = None
    ) -> AsyncIterator[None]:
        """Wait for this tenant's fair turn at the engine (at most `deadline_s`, by default the
        scheduler's), hold it for the block, then pass it on."""
        self._admit_or_shed(tenant)
        deadline = self.deadline_s if deadline_s is None else deadline_s
        loop = asyncio.get_running_loop()
        waiter = _Waiter((-self._tiers.get(tenant, 0), self._tag(tenant, cost), next(self._seq)), tenant,
                         loop.create_future())  # fmt: skip
        self._waiting.append(waiter)
        self._dispatch()
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), deadline)
        except TimeoutError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            raise Overloaded(f"waited {deadline:.0f}s for the engine; retry later",
                             self._mean_run_s * (1 + len(self._waiting))) from None  # fmt: skip
        except BaseException:
            if waiter.future.done() and not waiter.future.cancelled():
                self._release()
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            raise
        started = loop.time()
        try:
            yield
        finally:
            self._mean_run_s = 0.8 * self._mean_run_s + 0.2 * (loop.time() - started)
            self._release()

    def _release(self) -> None:
        self._running -= 1
        self._dispatch()


Vectors = NDArray[np.float32]


@dataclass
class _Pending:
    texts: Sequence[str]
    future: asyncio.Future[Vectors]


class EmbeddingBatcher:
    """Gathers concurrent embedding calls into one model call: requests that arrive while the model is
    busy (or within `window_s`) are embedded together, up to `max_texts` texts a call."""

    def __init__(
        self,
        embed: Callable[[Sequence[str]], Vectors],
        window_s: float = 0.002,
        max_texts: int = 256,
    ) -> None:
        self._embed, self._window_s, self._max_texts = embed, window_s, max_texts
        self._pending: list[_Pending] = []
        self._worker: asyncio.Task[None] | None = None
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """The vectors of these texts, embedded together with whatever else is waiting."""
        future: asyncio.Future[Vectors] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(texts, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run())
        return await future

    def _take(self) -> list[_Pending]:
        batch: list[_Pending] = []
        count = 0
        while self._pending and (not batch or count + len(self._pending[0].texts) <= self._max_texts):
            item = self._pending.pop(0)
            batch.append(item)
            count += len(item.texts)
        return batch

    async def _run(self) -> None:
        while self._pending:
            await asyncio.sleep(self._window_s)
            batch = self._take()
            texts = [t for item in batch for t in item.texts]
            self.calls += 1
            try:
                vectors = await asyncio.to_thread(self._embed, texts)
            except Exception as exc:
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            start = 0
            for item in batch:
                if not item.future.done():
                    item.future.set_result(vectors[start : start + len(item.texts)])
                start += len(item.texts)
