"""The engine pool's routing, breaker, retry and draining, over scripted replicas (the real-server test
is tests/generation/engines/test_replicas.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from generation.engines.breaker import CircuitBreaker
from generation.engines.pool import EnginePool, Replica, prefix_key
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.engines.scripted import ScriptedEngine
from generation.errors import EngineFailed, NoReplicaAvailable

PARAMS = GenerationParams(max_tokens=8)


class Flaky(ScriptedEngine):
    """Answers "ok from NAME"; fails before its first token while `down`, or after one token."""

    def __init__(self, label: str, down: bool = False, fail_after_first: bool = False) -> None:
        super().__init__(lambda _: f"ok from {label}")
        self.down, self.fail_after_first, self.calls = down, fail_after_first, 0

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        self.calls += 1
        if self.down:
            raise EngineFailed("connection refused")
        for i, piece in enumerate(super().stream(messages, params)):
            if self.fail_after_first and i == 1:
                raise EngineFailed("stream cut")
            yield piece


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def replica(url: str, engine: Flaky, clock: Clock | None = None) -> Replica:
    return Replica(url, engine, breaker=CircuitBreaker(2, 10.0, clock or Clock()))


def ask(text: str) -> list[ChatMessage]:
    return [ChatMessage("system", "Answer briefly."), ChatMessage("user", text)]


def answer(pool: EnginePool, text: str) -> str:
    return "".join(pool.stream(ask(text), PARAMS))


def test_the_same_prefix_goes_to_the_same_replica() -> None:
    a, b = Flaky("a"), Flaky("b")
    pool = EnginePool([replica("http://a", a), replica("http://b", b)])
    first = answer(pool, "What is a duck?")
    assert all(answer(pool, "What is a duck?") == first for _ in range(5))
    spread = {answer(pool, f"question {i}") for i in range(20)}
    assert spread == {"ok from a", "ok from b"}


def test_a_busy_preferred_replica_yields_to_the_least_busy() -> None:
    a, b = Flaky("a"), Flaky("b")
    pool = EnginePool([replica("http://a", a), replica("http://b", b)], affinity_slack=1)
    favourite = answer(pool, "same prompt")[-1]
    busy = pool.replicas[0] if favourite == "a" else pool.replicas[1]
    busy.in_flight = 2
    assert answer(pool, "same prompt")[-1] != favourite


def test_a_request_not_yet_streaming_is_retried_on_another_replica() -> None:
    a, b = Flaky("a", down=True), Flaky("b", down=True)
    pool = EnginePool([replica("http://a", a), replica("http://b", b)])
    a.down = False
    assert {answer(pool, f"q{i}") for i in range(6)} == {"ok from a"}
    assert all(r.in_flight == 0 for r in pool.replicas)


def test_a_failure_after_streaming_started_is_raised_not_retried() -> None:
    a, b = Flaky("a", fail_after_first=True), Flaky("b", fail_after_first=True)
    pool = EnginePool([replica("http://a", a), replica("http://b", b)])
    with pytest.raises(EngineFailed, match="stream cut"):
        answer(pool, "q")
    assert a.calls + b.calls == 1


def test_the_breaker_opens_after_failures_and_half_opens_after_the_cooldown() -> None:
    clock = Clock()
    a, b = Flaky("a", down=True), Flaky("b")
    pool = EnginePool([replica("http://a", a, clock), replica("http://b", b, clock)])
    for i in range(10):
        assert answer(pool, f"q{i}") == "ok from b"
    assert pool.status()[0].breaker == "open"
    assert a.calls == 2  # opened after two failures: no more requests sent to it
    a.down, clock.now = False, 11.0
    assert pool.status()[0].breaker == "half_open"
    assert {answer(pool, f"again {i}") for i in range(20)} == {"ok from a", "ok from b"}
    assert pool.status()[0].breaker == "closed"


def test_drained_and_unhealthy_replicas_get_no_new_requests() -> None:
    drained: set[str] = set()
    a, b = Flaky("a"), Flaky("b")
    pool = EnginePool([replica("http://a", a), replica("http://b", b)], drained=lambda: frozenset(drained))
    drained.add("http://a")
    assert {answer(pool, f"q{i}") for i in range(10)} == {"ok from b"}
    pool.replicas[1].probe = lambda: False
    pool.check_health()
    with pytest.raises(NoReplicaAvailable, match="http://a: drained, http://b: unhealthy"):
        answer(pool, "q")


def test_a_conversations_follow_ups_share_the_prefix_key_of_its_first_turn() -> None:
    first = ask("What is a duck?")
    follow_up = [*first, ChatMessage("assistant", "A bird."), ChatMessage("user", "What does it eat?")]
    assert prefix_key(first) == prefix_key(follow_up)
    assert prefix_key(ask("What is a goose?")) != prefix_key(first)
    assert prefix_key(ask("x" * 3000 + "a")) == prefix_key(ask("x" * 3000 + "b"))  # past 2,048 characters


def test_a_half_open_trial_whose_reader_leaves_frees_the_slot_for_the_next_trial() -> None:
    clock = Clock()
    a = Flaky("a", down=True)
    pool = EnginePool([replica("http://a", a, clock)])
    for _ in range(2):
        with pytest.raises(EngineFailed):
            answer(pool, "q")
    a.down, clock.now = False, 11.0
    stream = pool.stream(ask("q"), PARAMS)
    assert next(stream) == "ok"
    stream.close()  # the client left mid-trial: no verdict, but the slot is free again
    assert pool.status()[0].breaker == "half_open" and pool.status()[0].in_flight == 0
    assert answer(pool, "q") == "ok from a" and pool.status()[0].breaker == "closed"
