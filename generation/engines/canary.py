"""A canary rollout between two engines: the canary takes a set share of traffic, each version's outcomes
are kept, and the canary is rolled back on its own when its error rate or its latency passes a threshold.

    engine = CanaryEngine(stable, canary, CanaryPolicy(share=0.2, max_error_rate=0.2), rollout)
    for piece in engine.stream(messages, params): ...
    engine.versions()   # per version: requests, errors, p95 time to first token

`rollout` keeps the decision ("active", "promoted", "rolled_back") where every gateway and the CLI can
read and change it (app.rollout keeps it in a JSON file). While active, every 1/share-th request goes to
the canary (exactly `share` of the traffic, spread evenly). A canary request that fails before its first
token is counted against the canary and answered by the stable engine, so the caller loses nothing. Once
the canary has served `min_requests`, its error rate above `max_error_rate`, or its 95th-percentile time
to first token above `max_first_token_s`, rolls it back: from then on everything goes to the stable one.
Promoted, everything goes to the canary.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from generation.engines.protocol import ChatMessage, Engine, GenerationParams
from generation.errors import EngineFailed

Decision = Literal["active", "promoted", "rolled_back"]
Version = Literal["stable", "canary"]


class Rollout(Protocol):
    """Where the canary's decision is kept and changed."""

    def decision(self) -> Decision: ...

    def decide(self, decision: Decision, reason: str) -> None: ...


@dataclass(frozen=True)
class CanaryPolicy:
    """The canary's share of traffic and the thresholds that roll it back."""

    share: float = 0.1
    min_requests: int = 10
    max_error_rate: float = 0.2
    max_first_token_s: float | None = None


@dataclass
class VersionStats:
    """Outcomes of one version's requests (first-token times of the latest 500)."""

    requests: int = 0
    errors: int = 0
    first_token_s: deque[float] = field(default_factory=lambda: deque(maxlen=500))

    @property
    def error_rate(self) -> float:
        """Errors over requests (0 before any request)."""
        return self.errors / self.requests if self.requests else 0.0

    def first_token_p95(self) -> float | None:
        """The 95th percentile of the recorded first-token times (None before any)."""
        if not self.first_token_s:
            return None
        ordered = sorted(self.first_token_s)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass(frozen=True)
class VersionStatus:
    """One version as /metrics, the admin API and the CLI show it."""

    version: Version
    model: str
    share: float
    requests: int
    errors: int
    first_token_p95_s: float | None


class CanaryEngine:
    """Two engines, one a canary; see the module's docstring."""

    def __init__(
        self,
        stable: Engine,
        canary: Engine,
        policy: CanaryPolicy,
        rollout: Rollout,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engines: dict[Version, Engine] = {"stable": stable, "canary": canary}
        self._policy, self._rollout, self._clock = policy, rollout, clock
        self._stats: dict[Version, VersionStats] = {"stable": VersionStats(), "canary": VersionStats()}
        self._count = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._engines["stable"].name

    @property
    def context_window(self) -> int:
        return min(e.context_window for e in self._engines.values())

    def count_tokens(self, text: str) -> int:
        """The stable engine's count."""
        return self._engines["stable"].count_tokens(text)

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The stable engine's count."""
        return self._engines["stable"].count_prompt_tokens(messages)

    def choice_logprobs(self, messages: Sequence[ChatMessage], choices: Sequence[str]) -> dict[str, float]:
        """Choice scores from the stable engine (the answerability check is not part of the rollout)."""
        scorer = getattr(self._engines["stable"], "choice_logprobs", None)
        if scorer is None:
            raise EngineFailed(f"{self.name} cannot score choices")
        return dict(scorer(messages, choices))

    def share(self) -> float:
        """The canary's share of traffic now."""
        decision = self._rollout.decision()
        return {"active": self._policy.share, "promoted": 1.0, "rolled_back": 0.0}[decision]

    def _route(self) -> Version:
        share = self.share()
        with self._lock:
            n, self._count = self._count, self._count + 1
        return "canary" if math.floor((n + 1) * share) > math.floor(n * share) else "stable"

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        """The reply of the version this request is routed to; a canary that fails before its first token
        is replaced by the stable engine."""
        version = self._route()
        try:
            yield from self._timed(version, messages, params)
        except _FailedBeforeFirstToken as failed:
            if version == "stable" or self._rollout.decision() == "promoted":
                raise failed.error from None
            yield from self._timed("stable", messages, params)

    def _timed(
        self, version: Version, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Iterator[str]:
        stats, started = self._stats[version], self._clock()
        pieces = self._engines[version].stream(messages, params)
        try:
            first = next(pieces, None)
        except EngineFailed as exc:
            self._record(version, failed=True)
            raise _FailedBeforeFirstToken(exc) from exc
        stats.first_token_s.append(self._clock() - started)
        try:
            if first is not None:
                yield first
                yield from pieces
        except EngineFailed:
            self._record(version, failed=True)
            raise
        self._record(version, failed=False)

    def _record(self, version: Version, failed: bool) -> None:
        with self._lock:
            stats = self._stats[version]
            stats.requests += 1
            stats.errors += int(failed)
        if version == "canary":
            self._judge()

    def _judge(self) -> None:
        """Roll the canary back when it passes a threshold (only while it is active)."""
        stats, p = self._stats["canary"], self._policy
        if stats.requests < p.min_requests or self._rollout.decision() != "active":
            return
        p95 = stats.first_token_p95()
        if stats.error_rate > p.max_error_rate:
            reason = (
                f"error rate {stats.error_rate:.0%} over {stats.requests} requests > {p.max_error_rate:.0%}"
            )
        elif p.max_first_token_s is not None and p95 is not None and p95 > p.max_first_token_s:
            reason = f"p95 time to first token {p95:.2f}s > {p.max_first_token_s:g}s"
        else:
            return
        self._rollout.decide("rolled_back", f"automatic: {reason}")

    def versions(self) -> list[VersionStatus]:
        """Each version's share and outcomes so far (in this process)."""
        share = self.share()
        shares: dict[Version, float] = {"stable": 1.0 - share, "canary": share}
        return [
            VersionStatus(v, self._engines[v].name, shares[v], s.requests, s.errors, s.first_token_p95())
            for v, s in self._stats.items()
        ]


class _FailedBeforeFirstToken(Exception):
    """An engine failed before producing any text (carries its error)."""

    def __init__(self, error: EngineFailed) -> None:
        super().__init__(str(error))
        self.error = error
