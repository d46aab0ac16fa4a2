"""The credit arithmetic, as small pure functions over grants and debits.

A tenant holds credit blocks (grants). A grant is live at time t when `granted_at <= t < expires_at`
(an expiry is exclusive: at the instant it expires the block is gone). The balance at t is the sum of
the live blocks' remainders. A debit at time t draws from the live blocks in spend order: the block
that expires first, then the lowest `priority` number (0 goes first), then the oldest grant.

The state is always the replay of every grant and debit in event-time order, each idempotency key
counted once: late events land where their time puts them and duplicates change nothing, so the
same events give the same state whatever order or batches they arrive in. A debit larger than what
is live at its time takes what there is and records the rest as a shortfall: no block goes below zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MAX_CREDITS = 10**15
MAX_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z
MAX_PRIORITY = 2**31 - 1
GRANT_RULE = (
    f"a grant is 1 to {MAX_CREDITS} credits; its times are finite Unix seconds from 0 to {MAX_TIME:.0f} "
    f"(year 9999), and its priority is between {-MAX_PRIORITY} and {MAX_PRIORITY}"
)


def grant_problem(amount: int, times: Iterable[float | None], priority: int) -> str | None:
    """What makes a grant unstorable (the rule it breaks), or None when it is fine."""
    if not 1 <= amount <= MAX_CREDITS:
        return f"amount {amount} is out of range: {GRANT_RULE}"
    for t in times:
        if t is not None and not (math.isfinite(t) and 0 <= t <= MAX_TIME):
            return f"time {t} is out of range: {GRANT_RULE}"
    if not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
        return f"priority {priority} is out of range: {GRANT_RULE}"
    return None


@dataclass(frozen=True)
class Grant:
    """A block of credits: amount, when granted, when it expires (None: never), spend priority."""

    key: str
    amount: int
    granted_at: float
    expires_at: float | None = None
    priority: int = 0


@dataclass(frozen=True)
class Debit:
    """Credits spent at an event time, under an idempotency key."""

    key: str
    at: float
    amount: int


@dataclass
class Ledger:
    """The result of a replay: each grant's remainder, what each debit drew, and any shortfall."""

    remaining: dict[str, int] = field(default_factory=dict)
    drawn: dict[str, dict[str, int]] = field(default_factory=dict)
    shortfall: dict[str, int] = field(default_factory=dict)


def is_live(grant: Grant, t: float) -> bool:
    """Whether a grant can be spent at time t (granted already, not yet expired)."""
    return grant.granted_at <= t and (grant.expires_at is None or t < grant.expires_at)


def spend_order(grants: Iterable[Grant], t: float) -> list[Grant]:
    """The grants live at t, in the order they are spent."""
    live = [g for g in grants if is_live(g, t)]
    return sorted(
        live, key=lambda g: (g.expires_at is None, g.expires_at or 0.0, g.priority, g.granted_at, g.key)
    )


def draw(
    remaining: Mapping[str, int], grants: Iterable[Grant], amount: int, t: float
) -> tuple[dict[str, int], int]:
    """What a debit of `amount` at t takes from each grant, and the shortfall nothing covered."""
    taken: dict[str, int] = {}
    left = amount
    for grant in spend_order(grants, t):
        if left <= 0:
            break
        take = min(left, remaining.get(grant.key, 0))
        if take > 0:
            taken[grant.key] = take
            left -= take
    return taken, max(0, left)


def unique_by_key(events: Iterable[Debit]) -> list[Debit]:
    """Debits with each idempotency key counted once (the first seen wins)."""
    seen: dict[str, Debit] = {}
    for event in events:
        seen.setdefault(event.key, event)
    return list(seen.values())


def replay(grants: Iterable[Grant], debits: Iterable[Debit], until: float = math.inf) -> Ledger:
    """Apply every debit up to `until`, in event-time order, to the grants; duplicates count once."""
    unique_grants = {g.key: g for g in reversed(list(grants))}
    ledger = Ledger(remaining={key: g.amount for key, g in unique_grants.items()})
    for debit in sorted(unique_by_key(debits), key=lambda d: (d.at, d.key)):
        if debit.at > until:
            break
        taken, short = draw(ledger.remaining, unique_grants.values(), debit.amount, debit.at)
        for key, amount in taken.items():
            ledger.remaining[key] -= amount
        ledger.drawn[debit.key] = taken
        if short:
            ledger.shortfall[debit.key] = short
    return ledger


def balance(grants: Iterable[Grant], debits: Iterable[Debit], t: float) -> int:
    """The tenant's balance at t: the live remainders after every debit up to t."""
    grants = list(grants)
    ledger = replay(grants, debits, until=t)
    return sum(ledger.remaining[g.key] for g in spend_order(grants, t))


def available(grants: Iterable[Grant], debits: Iterable[Debit], t: float) -> int:
    """What a new debit at t could draw: live remainders after every debit, whenever stamped.

    Unlike `balance`, holds stamped after t (a request admitted a moment later that committed first)
    count as spent too: this is what a refusal quotes.
    """
    grants = list(grants)
    ledger = replay(grants, debits)
    return sum(ledger.remaining[g.key] for g in spend_order(grants, t))


def fits(grants: Iterable[Grant], debits: Iterable[Debit], new: Debit) -> bool:
    """Whether a new debit is covered in full without leaving any debit, earlier or later, short.

    Judged over the whole timeline, not only up to the new event's time: a hold stamped a moment
    before another that committed first must not take credits that one already holds.
    """
    grants, debits = list(grants), list(debits)
    before = sum(replay(grants, debits).shortfall.values())
    return sum(replay(grants, [*debits, new]).shortfall.values()) == before


def cost_in_credits(tokens: int, price_per_token: float = 1.0) -> int:
    """Credits for a number of tokens at a model's price (rounded up; one credit per token by default)."""
    return math.ceil(tokens * price_per_token - 1e-9) if tokens > 0 else 0
