"""Property tests of the credit arithmetic: expiry at its boundary, spend order, late and repeated events."""

from __future__ import annotations

import itertools
import random

from hypothesis import given
from hypothesis import strategies as st

from app.gateway.credits import Debit, Grant, balance, cost_in_credits, draw, is_live, replay, spend_order

times = st.integers(min_value=0, max_value=100).map(float)


@st.composite
def grants(draw_: st.DrawFn) -> list[Grant]:
    count = draw_(st.integers(min_value=0, max_value=5))
    out = []
    for i in range(count):
        granted = draw_(times)
        lifetime = draw_(st.one_of(st.none(), st.integers(min_value=1, max_value=60)))
        amount = draw_(st.integers(min_value=1, max_value=50))
        priority = draw_(st.integers(min_value=0, max_value=2))
        out.append(
            Grant(f"g{i}", amount, granted, None if lifetime is None else granted + lifetime, priority)
        )
    return out


@st.composite
def debits(draw_: st.DrawFn) -> list[Debit]:
    count = draw_(st.integers(min_value=0, max_value=12))
    return [Debit(f"d{i}", draw_(times), draw_(st.integers(min_value=0, max_value=30))) for i in range(count)]


@given(grants(), debits())
def test_nothing_goes_below_zero_and_every_credit_is_accounted_for(gs: list[Grant], ds: list[Debit]) -> None:
    ledger = replay(gs, ds)
    assert all(v >= 0 for v in ledger.remaining.values())
    for g in gs:
        spent = sum(taken.get(g.key, 0) for taken in ledger.drawn.values())
        assert ledger.remaining[g.key] + spent == g.amount
    for d in ds:
        assert sum(ledger.drawn[d.key].values()) + ledger.shortfall.get(d.key, 0) == d.amount


@given(grants(), debits())
def test_a_debit_only_draws_from_blocks_live_at_its_event_time(gs: list[Grant], ds: list[Debit]) -> None:
    by_key = {g.key: g for g in gs}
    ledger = replay(gs, ds)
    for d in ds:
        assert all(is_live(by_key[key], d.at) for key in ledger.drawn[d.key])


@given(st.integers(min_value=1, max_value=100), times, st.integers(min_value=1, max_value=50))
def test_expiry_is_exclusive_at_its_boundary(amount: int, granted: float, lifetime: int) -> None:
    grant = Grant("g", amount, granted, granted + lifetime)
    assert balance([grant], [], granted) == amount
    assert balance([grant], [], granted + lifetime - 1e-6) == amount
    assert balance([grant], [], granted + lifetime) == 0
    assert balance([grant], [], granted - 1e-6) == 0
    assert draw({"g": amount}, [grant], 1, granted + lifetime) == ({}, 1)


@given(grants(), times, st.integers(min_value=1, max_value=200))
def test_spending_takes_the_earliest_expiry_first_then_lower_priority(
    gs: list[Grant], t: float, amount: int
) -> None:
    remaining = {g.key: g.amount for g in gs}
    taken, _ = draw(remaining, gs, amount, t)
    order = spend_order(gs, t)
    # the blocks drawn are a prefix of the spend order, every block before the last one emptied
    touched = [g for g in order if g.key in taken]
    assert touched == order[: len(touched)]
    for g in touched[:-1]:
        assert taken[g.key] == g.amount
    for a, b in itertools.pairwise(order):
        ea = a.expires_at if a.expires_at is not None else float("inf")
        eb = b.expires_at if b.expires_at is not None else float("inf")
        assert ea < eb or (ea == eb and a.priority <= b.priority)


@given(grants(), debits(), st.randoms(use_true_random=False))
def test_late_and_duplicate_events_change_nothing_twice(
    gs: list[Grant], ds: list[Debit], rnd: random.Random
) -> None:
    shuffled = ds + rnd.sample(ds, k=len(ds) // 2)  # repeats of the same idempotency keys
    rnd.shuffle(shuffled)
    assert replay(gs, shuffled).remaining == replay(gs, ds).remaining
    assert replay(gs + gs[:1], ds).remaining == replay(gs, ds).remaining  # a repeated grant counts once


@given(grants(), debits(), times)
def test_split_runs_equal_one_run(gs: list[Grant], ds: list[Debit], cut: float) -> None:
    # events replayed in two batches (those up to `cut`, then the rest) give the state of one run
    first = replay(gs, [d for d in ds if d.at <= cut])
    second_grants = [Grant(g.key, first.remaining[g.key], g.granted_at, g.expires_at, g.priority) for g in gs]
    second = replay(second_grants, [d for d in ds if d.at > cut])
    assert second.remaining == replay(gs, ds).remaining


@given(grants(), times, st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_two_draws_at_one_time_equal_one_draw_of_their_sum(gs: list[Grant], t: float, a: int, b: int) -> None:
    start = {g.key: g.amount for g in gs}
    one, short_one = draw(start, gs, a + b, t)
    first, short_a = draw(start, gs, a, t)
    after = {k: v - first.get(k, 0) for k, v in start.items()}
    second, short_b = draw(after, gs, b, t)
    combined = {k: first.get(k, 0) + second.get(k, 0) for k in set(first) | set(second)}
    assert {k: v for k, v in combined.items() if v} == one and short_a + short_b == short_one


@given(grants(), debits(), times)
def test_balance_is_the_sum_of_live_remainders_after_earlier_debits(
    gs: list[Grant], ds: list[Debit], t: float
) -> None:
    ledger = replay(gs, [d for d in ds if d.at <= t])
    expected = sum(ledger.remaining[g.key] for g in gs if is_live(g, t))
    assert balance(gs, ds, t) == expected >= 0


def test_one_credit_per_token_by_default_and_prices_round_up() -> None:
    assert cost_in_credits(7) == 7 and cost_in_credits(0) == 0
    assert cost_in_credits(3, 0.5) == 2 and cost_in_credits(4, 0.5) == 2 and cost_in_credits(10, 0.1) == 1
