"""Admission and settlement around a request, in one place for every metered route.

A request is admitted (rate limits taken, its maximum cost held in credits), waits for its fair turn
at the engine, runs, and is settled whatever way it ends: finished, failed, or a stream cut short
(then it is charged the prompt and the pieces sent). The first event is produced before the response
starts, so a full queue or a failed retrieval is still an HTTP status, and the stream is closed (and
settled) by the event loop even if the client leaves before reading it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from app.container import Container
from app.gateway.keys import Caller
from app.gateway.service import Gateway, Ticket
from app.http.errors import api_error_from
from app.http.sse import iterate_in_thread
from generation.answer import AnswerEvent, DeltaEvent, DoneEvent

CLIENT_CLOSED = 499
GATEWAY_ERRORS = (401, 402, 403, 429)


def answer_costs(container: Container, question: str) -> tuple[int, int]:
    """An answer's most tokens (prompt frame, question, context budget, answer) and its prompt estimate."""
    s, engine = container.settings, container.engine
    prompt = min(engine.context_window, engine.count_tokens(question) + s.context_budget_tokens + 128)
    return min(engine.context_window, prompt + s.max_answer_tokens), prompt


@dataclass
class Meter:
    """What a running request has used so far."""

    tokens_in: int = 0
    tokens_out: int = 0
    status: int = CLIENT_CLOSED
    timings_ms: dict[str, float] = field(default_factory=dict)


async def admit(
    gateway: Gateway, caller: Caller, endpoint: str, model: str, max_tokens: int, stream: bool
) -> Ticket:
    """Admit a request (off the event loop: it writes the ledger)."""
    return await run_in_threadpool(gateway.admit, caller, endpoint, model, max_tokens, max_tokens, stream)


@asynccontextmanager
async def settled(gateway: Gateway, ticket: Ticket) -> AsyncIterator[Meter]:
    """Settle the ticket with what the meter recorded, however the block ends."""
    meter = Meter()
    try:
        yield meter
    except Exception as exc:
        meter.status = api_error_from(exc).status
        raise
    finally:
        gateway.settle(ticket, meter.tokens_in, meter.tokens_out, meter.status, meter.timings_ms)


async def _metered(
    gateway: Gateway, ticket: Ticket, make: Callable[[], Iterator[AnswerEvent]], prompt: int
) -> AsyncGenerator[AnswerEvent]:
    turn = gateway.scheduler.turn(ticket.caller.tenant, float(ticket.admission.tokens))
    async with settled(gateway, ticket) as meter, turn:
        async for event in iterate_in_thread(make):
            if isinstance(event, DeltaEvent):
                meter.tokens_in, meter.tokens_out = prompt, meter.tokens_out + 1
            elif isinstance(event, DoneEvent):
                meter.tokens_in = event.usage.prompt_tokens
                meter.tokens_out, meter.status = event.usage.completion_tokens, 200
                meter.timings_ms = dict(event.timings_ms)
            yield event


async def _after(first: AnswerEvent, rest: AsyncGenerator[AnswerEvent]) -> AsyncIterator[AnswerEvent]:
    try:
        yield first
        async for event in rest:
            yield event
    finally:
        await rest.aclose()


async def metered_events(
    gateway: Gateway,
    caller: Caller,
    endpoint: str,
    model: str,
    costs: tuple[int, int],
    stream: bool,
    make: Callable[[], Iterator[AnswerEvent]],
) -> AsyncIterator[AnswerEvent]:
    """The request's events, admitted, scheduled and settled; `costs` is (max tokens, prompt estimate)."""
    ticket = await admit(gateway, caller, endpoint, model, costs[0], stream)
    events = _metered(gateway, ticket, make, costs[1])
    first = await events.__anext__()
    return _after(first, events)
