"""Rate limits per key and per tenant: requests and tokens per minute (token buckets), concurrent streams.

A bucket holds at most a minute's allowance, so a quiet client may burst up to its whole per-minute
limit, then is held to the steady rate. Tokens are taken as estimated at admission and settled with
the real count when the request ends (a bucket may go into debt for an underestimate).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from app.gateway.clock import Clock
from app.gateway.errors import RateLimited


@dataclass(frozen=True)
class Bucket:
    """A token bucket's level at a time."""

    level: float
    at: float


def refill(bucket: Bucket, per_minute: int, now: float) -> Bucket:
    """The bucket at `now`: topped up at `per_minute / 60` a second, never above `per_minute`."""
    level = min(float(per_minute), bucket.level + max(0.0, now - bucket.at) * per_minute / 60.0)
    return Bucket(level, max(now, bucket.at))


def wait_for(bucket: Bucket, amount: float, per_minute: int) -> float:
    """Seconds until the (refilled) bucket holds `amount` (0 if it does; inf if it never can)."""
    if bucket.level >= amount:
        return 0.0
    if amount > per_minute:
        return math.inf
    return (amount - bucket.level) * 60.0 / per_minute


@dataclass(frozen=True)
class LimitSpec:
    """Per-minute request and token allowances and concurrent streams; None: unlimited."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    streams: int | None = None


@dataclass
class Admission:
    """What a request took from the limits, to settle when it ends."""

    subjects: tuple[str, ...]
    tokens: int
    stream: bool
    headers: dict[str, str] = field(default_factory=dict)


class RateLimiter:
    """In-process buckets for each key and tenant; one lock makes each admission all-or-nothing."""

    def __init__(self, clock: Clock, per_key: LimitSpec, per_tenant: LimitSpec) -> None:
        self._clock, self._per_key, self._per_tenant = clock, per_key, per_tenant
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._streams: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def per_key(self) -> LimitSpec:
        """The limits of each key."""
        return self._per_key

    @property
    def per_tenant(self) -> LimitSpec:
        """The limits of each tenant."""
        return self._per_tenant

    def _spec(self, subject: str) -> LimitSpec:
        return self._per_tenant if subject.startswith("tenant:") else self._per_key

    def _bucket(self, subject: str, kind: str, limit: int, now: float) -> Bucket:
        bucket = self._buckets.get((subject, kind), Bucket(float(limit), now))
        return refill(bucket, limit, now)

    def _checks(self, subject: str, tokens: int, now: float) -> list[tuple[str, int, float, Bucket, float]]:
        spec = self._spec(subject)
        checks = []
        for kind, limit, amount in (
            ("requests", spec.requests_per_minute, 1.0),
            ("tokens", spec.tokens_per_minute, float(tokens)),
        ):
            if limit is not None:
                bucket = self._bucket(subject, kind, limit, now)
                checks.append((kind, limit, amount, bucket, wait_for(bucket, amount, limit)))
        return checks

    def admit(self, tenant: str, key_id: str | None, tokens: int, stream: bool) -> Admission:
        """Take one request and `tokens` from every bucket of the key and tenant, or raise RateLimited."""
        subjects = (f"tenant:{tenant}",) + ((f"key:{key_id}",) if key_id else ())
        now = self._clock.monotonic()
        with self._lock:
            checks = {s: self._checks(s, tokens, now) for s in subjects}
            headers = _headers([c for s in subjects for c in checks[s]])
            waits = [c[4] for s in subjects for c in checks[s]]
            for s in subjects:
                limit = self._spec(s).streams
                if stream and limit is not None and self._streams.get(s, 0) >= limit:
                    raise RateLimited(f"{s} already has {limit} streams open; retry when one ends",
                                      {**headers, "Retry-After": "1"})  # fmt: skip
            if any(w > 0 for w in waits):
                worst = max(waits)
                if math.isinf(worst):
                    raise RateLimited(f"this request's {tokens} tokens exceed the per-minute limit", headers)
                raise RateLimited(f"rate limit reached; retry in {worst:.1f}s",
                                  {**headers, "Retry-After": str(max(1, math.ceil(worst)))})  # fmt: skip
            for s in subjects:
                for kind, _, amount, bucket, _ in checks[s]:
                    self._buckets[(s, kind)] = Bucket(bucket.level - amount, bucket.at)
                if stream:
                    self._streams[s] = self._streams.get(s, 0) + 1
        return Admission(subjects, tokens, stream, headers)

    def settle(self, admission: Admission, actual_tokens: int) -> None:
        """Correct the token buckets by the real count and close the stream slot."""
        with self._lock:
            for s in admission.subjects:
                key = (s, "tokens")
                if key in self._buckets:
                    b = self._buckets[key]
                    self._buckets[key] = Bucket(b.level + admission.tokens - actual_tokens, b.at)
                if admission.stream:
                    self._streams[s] = max(0, self._streams.get(s, 0) - 1)


def _headers(checks: list[tuple[str, int, float, Bucket, float]]) -> dict[str, str]:
    """OpenAI-style x-ratelimit-* headers from the tightest bucket of each kind."""
    headers: dict[str, str] = {}
    for kind in ("requests", "tokens"):
        mine = [c for c in checks if c[0] == kind]
        if not mine:
            continue
        _, limit, amount, bucket, _ = min(mine, key=lambda c: c[3].level / c[1])
        reset = max(0.0, (limit - bucket.level) * 60.0 / limit)
        headers[f"x-ratelimit-limit-{kind}"] = str(limit)
        headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, math.floor(bucket.level - amount)))
        headers[f"x-ratelimit-reset-{kind}"] = f"{reset:.3f}s"
    return headers
