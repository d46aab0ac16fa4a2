"""A pool of engine replicas serving one model: health checks, least-busy routing with prefix affinity,
a circuit breaker per replica, retry before the first token, and draining.

    pool = EnginePool([Replica("http://10.0.0.5:8080", engine_a, probe_a), Replica(..., engine_b, ...)])
    pool.start_health_checks(interval_s=5.0)
    for piece in pool.stream(messages, params): ...

Routing: each request has a prefix key (a hash of its messages up to the first user message: the
opening every later turn of a conversation repeats), and rendezvous hashing maps the key to a preferred
replica among those available, so a conversation's follow-ups return to the replica whose KV cache holds
its prefix. The preferred replica is used unless it runs `affinity_slack` more requests than the
least busy one; then the least busy one is. A replica is available when its last health check passed,
its breaker allows a request and it is not drained. A request that fails before its first token (the
replica refused, timed out or is gone) is sent to another available replica, up to one try on each; a
failure after text was streamed cannot be hidden and is raised. Draining a replica stops new requests
to it; those it runs finish.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from generation.engines.breaker import BreakerState, CircuitBreaker
from generation.engines.protocol import ChatMessage, Engine, GenerationParams
from generation.errors import EngineFailed, NoReplicaAvailable

_T = TypeVar("_T")

PREFIX_CHARS = 2048
"""Characters of each message that count toward the prefix key."""


@dataclass
class Replica:
    """One engine endpoint: its URL (its name in metrics and commands), the engine that talks to it,
    and the probe that says whether it is up."""

    url: str
    engine: Engine
    probe: Callable[[], bool] = lambda: True
    healthy: bool = True
    in_flight: int = 0
    served: int = 0
    failed: int = 0
    breaker: CircuitBreaker = field(default_factory=lambda: CircuitBreaker(3, 10.0, time.monotonic))


@dataclass(frozen=True)
class ReplicaStatus:
    """What the pool knows of a replica now, for /metrics, the admin API and the CLI."""

    url: str
    healthy: bool
    drained: bool
    breaker: BreakerState
    in_flight: int
    served: int
    failed: int


def prefix_key(messages: Sequence[ChatMessage], chars: int = PREFIX_CHARS) -> str:
    """A hash of the conversation's opening: the messages up to and including the first user message
    (the first `chars` characters of each), which every later turn of the conversation repeats."""
    digest = hashlib.blake2b(digest_size=8)
    for m in messages:
        digest.update(f"{m.role}\0{m.content[:chars]}\0".encode())
        if m.role == "user":
            break
    return digest.hexdigest()


def preferred(key: str, urls: Iterable[str]) -> str:
    """The URL rendezvous hashing picks for `key` (stable when other replicas come and go)."""
    return max(urls, key=lambda url: hashlib.blake2b(f"{url}\0{key}".encode(), digest_size=8).digest())


class EnginePool:
    """Replicas of one model behind one `Engine`; see the module's docstring."""

    def __init__(
        self,
        replicas: Sequence[Replica],
        affinity_slack: int = 1,
        drained: Callable[[], frozenset[str]] = frozenset,
    ) -> None:
        if not replicas:
            raise ValueError("an engine pool needs at least one replica")
        self._replicas = list(replicas)
        self._slack = affinity_slack
        self._drained = drained
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._checker: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self._replicas[0].engine.name

    @property
    def context_window(self) -> int:
        return min(r.engine.context_window for r in self._replicas)

    @property
    def replicas(self) -> list[Replica]:
        """The replicas, in configured order."""
        return list(self._replicas)

    def count_tokens(self, text: str) -> int:
        """The count of the first available replica (tried in turn)."""
        return self._first_answer(lambda e: e.count_tokens(text))

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The count of the first available replica (tried in turn)."""
        return self._first_answer(lambda e: e.count_prompt_tokens(messages))

    def choice_logprobs(self, messages: Sequence[ChatMessage], choices: Sequence[str]) -> dict[str, float]:
        """Choice scores from the replica this prompt's prefix prefers (another when it fails)."""

        def score(engine: Engine) -> dict[str, float]:
            scorer = getattr(engine, "choice_logprobs", None)
            if scorer is None:
                raise EngineFailed(f"{engine.name} cannot score choices")
            return dict(scorer(messages, choices))

        return self._first_answer(score, prefix_key(messages))

    def _first_answer(self, call: Callable[[Engine], _T], key: str = "") -> _T:
        """`call` on the replica routing picks, then on each other available one while it fails."""
        tried: set[str] = set()
        while True:
            replica = self._pick(key, tried)
            tried.add(replica.url)
            outcome: bool | None = None
            try:
                answer = call(replica.engine)
                outcome = True
                return answer
            except EngineFailed:
                outcome = False
                if len(tried) == len(self._replicas):
                    raise
            finally:
                self._release(replica, outcome, counted=False)

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        """The reply from the replica routing picks; one that fails before its first token is replaced
        by another, once each."""
        key = prefix_key(messages)
        tried: set[str] = set()
        while True:
            replica = self._pick(key, tried)
            tried.add(replica.url)
            pieces = self._run(replica, messages, params)
            try:
                first = next(pieces, None)
            except EngineFailed:
                if len(tried) == len(self._replicas):
                    raise
                continue
            if first is not None:
                yield first
                yield from pieces
            return

    def _run(
        self, replica: Replica, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Iterator[str]:
        """The replica's stream (the replica already reserved by `_pick`), counted in its load and breaker."""
        outcome: bool | None = None
        try:
            yield from replica.engine.stream(messages, params)
            outcome = True
        except EngineFailed:
            outcome = False
            raise
        finally:
            self._release(replica, outcome)

    def _release(self, replica: Replica, succeeded: bool | None, counted: bool = True) -> None:
        """End a call on the replica: its load, its counts (streams only: `counted`), and its breaker's
        verdict (None: the reader left before the end, which says nothing of the replica)."""
        with self._lock:
            replica.in_flight -= 1
            replica.served += counted and succeeded is True
            replica.failed += counted and succeeded is False
        if succeeded is True:
            replica.breaker.succeeded()
        elif succeeded is False:
            replica.breaker.failed()
        else:
            replica.breaker.released()

    def _pick(self, key: str, tried: set[str]) -> Replica:
        """Reserve the replica for this request (its in-flight count taken); see the module's docstring."""
        drained = self._drained()
        with self._lock:
            ready = [
                r for r in self._replicas
                if r.url not in tried and r.url not in drained and r.healthy and r.breaker.allows()
            ]  # fmt: skip
            if not ready:
                raise NoReplicaAvailable(self._unavailable_reason(drained))
            least = min(ready, key=lambda r: r.in_flight)
            chosen = next(r for r in ready if r.url == preferred(key, (r.url for r in ready)))
            if chosen.in_flight > least.in_flight + self._slack:
                chosen = least
            chosen.in_flight += 1
            chosen.breaker.started()
            return chosen

    def _unavailable_reason(self, drained: frozenset[str]) -> str:
        states = ", ".join(
            f"{r.url}: {'drained' if r.url in drained else 'unhealthy' if not r.healthy else r.breaker.state}"
            for r in self._replicas
        )
        return f"no engine replica can take this request ({states})"

    def check_health(self) -> None:
        """Probe every replica once and record which are up."""
        for replica in self._replicas:
            try:
                replica.healthy = replica.probe()
            except Exception:
                replica.healthy = False

    def start_health_checks(self, interval_s: float) -> None:
        """Probe every replica now and then every `interval_s` seconds on a daemon thread."""
        self.check_health()

        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.check_health()

        self._checker = threading.Thread(target=loop, name="engine-health", daemon=True)
        self._checker.start()

    def status(self) -> list[ReplicaStatus]:
        """Each replica's health, drain, breaker and load."""
        drained = self._drained()
        return [
            ReplicaStatus(
                r.url, r.healthy, r.url in drained, r.breaker.state, r.in_flight, r.served, r.failed
            )
            for r in self._replicas
        ]

    def close(self) -> None:
        """Stop the health checks and close the replicas' connections."""
        self._stop.set()
        if self._checker is not None:
            self._checker.join(timeout=5)
        for replica in self._replicas:
            close = getattr(replica.engine, "close", None)
            if close is not None:
                close()
