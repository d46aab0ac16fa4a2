"""What one request used: the usage ledger's record, and the prices that turn tokens into credits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.gateway.credits import cost_in_credits


@dataclass(frozen=True)
class UsageRecord:
    """One request in the append-only ledger."""

    request_id: str
    tenant: str
    key_id: str | None
    endpoint: str
    model: str
    at: float
    status: int
    tokens_in: int = 0
    tokens_out: int = 0
    credits: int = 0
    duration_ms: float = 0.0
    latency_ms: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Settled:
    """A metered request as it ended, for observers such as /metrics: what it used and what it cost,
    its stage timings, the safety checks it met as (stage, category, decision, action), whether Verity
    declined to answer, and how long it waited for its turn at the engine."""

    endpoint: str
    model: str
    status: int
    tokens_in: int
    tokens_out: int
    credits: int
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    safety: tuple[tuple[str, str, str, str], ...] = ()
    abstained: bool = False
    queue_wait_s: float | None = None


@dataclass(frozen=True)
class Prices:
    """Credits per token for each model; a model not listed costs `default` (one credit per token)."""

    per_model: Mapping[str, float] = field(default_factory=dict)
    default: float = 1.0

    def cost(self, model: str, tokens: int) -> int:
        """Credits for these tokens on this model."""
        return cost_in_credits(tokens, self.per_model.get(model, self.default))
