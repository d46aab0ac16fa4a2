"""Admission and settlement around a request, in one place for every metered use case.

A request is admitted (rate limits taken, its maximum cost held in credits, its wait at the engine
predicted and refused when it would pass the request's deadline), runs its stages with only the engine's
work inside the fair turn, and is settled whatever way it ends: finished, failed, or cut short because
the client left (then it is charged the prompt and the pieces produced, with status 499). The first
event is produced before a response starts, so a refusal or a failed retrieval is still an HTTP status.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from app.gateway.keys import Caller
from app.gateway.service import Gateway, Ticket
from app.gateway.usage import Settled
from app.http.errors import api_error_from
from app.http.sse import iterate_in_thread
from generation.answer import AnswerEvent, DeltaEvent, DoneEvent, SafetyEvent

CLIENT_CLOSED = 499


@dataclass
class Meter:
    """What a running request has used so far."""

    prompt_estimate: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    status: int = CLIENT_CLOSED
    timings_ms: dict[str, float] = field(default_factory=dict)
    safety: list[tuple[str, str, str, str]] = field(default_factory=list)
    abstained: bool = False
    queue_wait_s: float | None = None

    def observe(self, event: AnswerEvent) -> None:
        """Count an event: a delta is a completion token, the done event has the real usage."""
        if isinstance(event, SafetyEvent):
            self.safety.append((event.stage, event.category, event.decision, event.action))
        elif isinstance(event, DeltaEvent):
            self.tokens_in, self.tokens_out = self.prompt_estimate, self.tokens_out + 1
        elif isinstance(event, DoneEvent):
            self.tokens_in = event.usage.prompt_tokens
            self.tokens_out, self.status = event.usage.completion_tokens, 200
            self.timings_ms, self.abstained = dict(event.timings_ms), event.abstained


@dataclass(frozen=True)
class Admission:
    """What admission needs to know of a request: where it is recorded, its most tokens (held in
    credits), its prompt estimate (charged if it is cut short), whether it streams, its deadline for
    the engine's turn, and whether it needs the engine at all."""

    endpoint: str
    model: str
    max_tokens: int
    prompt_estimate: int
    stream: bool = False
    deadline_s: float | None = None
    engine: bool = True


Stage = Callable[[], Iterator[AnswerEvent]]
"""A blocking stage of a pipeline, run off the event loop."""


async def admit(gateway: Gateway, caller: Caller, admission: Admission) -> Ticket:
    """Admit a request (off the event loop: it writes the ledger), then, for the engine's work, refuse
    it, settled, when the engine's queue is full or the predicted wait passes its deadline."""
    a = admission
    ticket = await run_in_threadpool(
        gateway.admit, caller, a.endpoint, a.model, a.max_tokens, a.max_tokens, a.stream
    )
    if not a.engine:
        return ticket
    try:
        gateway.scheduler.check(caller.tenant, float(a.max_tokens), a.deadline_s)
    except Exception as exc:
        gateway.settle(ticket, 0, 0, api_error_from(exc).status)
        raise
    return ticket


@asynccontextmanager
async def settled(gateway: Gateway, ticket: Ticket, prompt_estimate: int) -> AsyncIterator[Meter]:
    """Settle the ticket with what the meter recorded, however the block ends (cancelled: 499)."""
    meter = Meter(prompt_estimate)
    try:
        yield meter
    except Exception as exc:
        meter.status = api_error_from(exc).status
        raise
    finally:
        charged = gateway.settle(ticket, meter.tokens_in, meter.tokens_out, meter.status, meter.timings_ms)
        _tell_observers(gateway, ticket, meter, charged)


def _tell_observers(gateway: Gateway, ticket: Ticket, meter: Meter, charged: int) -> None:
    """Tell the gateway's observers (such as /metrics) how the request ended."""
    m = meter
    settled = Settled(
        ticket.endpoint, ticket.model, m.status, m.tokens_in, m.tokens_out, charged, dict(m.timings_ms),
        tuple(m.safety), m.abstained, m.queue_wait_s,
    )  # fmt: skip
    for observe in gateway.observers:
        observe(settled)


async def run_stages(
    gateway: Gateway,
    ticket: Ticket,
    admission: Admission,
    before: Stage | None,
    engine: Stage,
    after: Stage | None,
) -> AsyncGenerator[AnswerEvent]:
    """The events of the three stages, metered and settled; only `engine` holds the fair turn."""
    cost = float(ticket.admission.tokens)
    async with settled(gateway, ticket, admission.prompt_estimate) as meter:
        if before is not None:
            async for event in iterate_in_thread(before):
                meter.observe(event)
                yield event
        queued_at = time.perf_counter()
        async with gateway.scheduler.turn(ticket.caller.tenant, cost, admission.deadline_s):
            meter.queue_wait_s = time.perf_counter() - queued_at
            async for event in iterate_in_thread(engine):
                meter.observe(event)
                yield event
        if after is not None:
            async for event in iterate_in_thread(after):
                meter.observe(event)
                yield event


async def started(events: AsyncGenerator[AnswerEvent]) -> AsyncGenerator[AnswerEvent]:
    """The events with the first one already produced (so its failure is raised here, before any byte
    of a response); closing the result closes `events`."""
    first = await events.__anext__()

    async def chained() -> AsyncGenerator[AnswerEvent]:
        try:
            yield first
            async for event in events:
                yield event
        finally:
            await events.aclose()

    return chained()
