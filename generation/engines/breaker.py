"""A circuit breaker for one engine replica: closed, open after repeated failures, half-open to try again.

    breaker = CircuitBreaker(failures=3, cooldown_s=10.0, clock=time.monotonic)
    if breaker.allows():          # closed, or half-open with no trial running yet
        ...; breaker.succeeded()  # or breaker.failed()

After `failures` failures in a row the breaker opens: the replica gets no request for `cooldown_s`.
Then it is half-open: one request goes through as a trial; its success closes the breaker, its failure
opens it again for another cooldown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Consecutive-failure circuit breaker with a cooldown and a single half-open trial (thread-safe)."""

    def __init__(self, failures: int, cooldown_s: float, clock: Callable[[], float]) -> None:
        self._threshold, self._cooldown_s, self._clock = failures, cooldown_s, clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> BreakerState:
        """Closed (serving), open (cooling down) or half-open (one trial may go through)."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at < self._cooldown_s:
            return "open"
        return "half_open"

    def allows(self) -> bool:
        """Whether a request may go to the replica now (a half-open breaker admits one trial)."""
        with self._lock:
            state = self.state
            return state == "closed" or (state == "half_open" and not self._trial_running)

    def started(self) -> None:
        """A request was sent: in half-open state it is the trial."""
        with self._lock:
            if self.state == "half_open":
                self._trial_running = True

    def released(self) -> None:
        """The request ended with no verdict (its reader left): a trial it was frees the half-open slot."""
        with self._lock:
            self._trial_running = False

    def succeeded(self) -> None:
        """The request succeeded: the breaker closes."""
        with self._lock:
            self._failures, self._opened_at, self._trial_running = 0, None, False

    def failed(self) -> None:
        """The request failed: count it, and open (again) at the threshold or after a failed trial."""
        with self._lock:
            self._failures += 1
            if self._failures >= self._threshold or self._opened_at is not None:
                self._opened_at = self._clock()
            self._trial_running = False
