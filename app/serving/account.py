"""The caller's account: the use case behind `GET /v1/usage` (the ledger) and `GET /v1/account` (what
the tenant may still spend and do, for people: the chat UI's panel).

    account = container.account                  # an `Account`
    account.usage(caller, start, end)            # UsageReport: the tenant's requests and totals
    account.summary(caller, since=None)          # AccountSummary: credits, today's use, rate limits
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.gateway.keys import Caller
from app.gateway.limits import Limits
from app.gateway.service import Gateway
from app.gateway.usage import UsageRecord


@dataclass(frozen=True)
class UsageReport:
    """The tenant's requests in a time window, with totals."""

    tenant: str
    records: list[UsageRecord]
    total_tokens: int
    total_credits: int


@dataclass(frozen=True)
class CreditBlock:
    """A grant with credits left (Unix seconds; no expiry: None)."""

    amount: int
    remaining: int
    granted_at: float
    expires_at: float | None


@dataclass(frozen=True)
class CreditsSummary:
    """Whether credits apply to the tenant, the balance now (None: not used), the blocks left."""

    enforced: bool
    balance: int | None
    next_expiry: float | None
    blocks: list[CreditBlock]


@dataclass(frozen=True)
class PeriodUsage:
    """Requests (and those refused), tokens and credits since a time."""

    since: float
    requests: int
    refused: int
    tokens: int
    credits: int


@dataclass(frozen=True)
class RateLimits:
    """The server's rate limits (None: none)."""

    key_rpm: int | None
    key_tpm: int | None
    key_streams: int | None
    tenant_rpm: int | None
    tenant_tpm: int | None
    tenant_streams: int | None


@dataclass(frozen=True)
class AccountSummary:
    """The caller's tenant: credits, use since the start of the day, the rate limits."""

    tenant: str
    auth_enabled: bool
    key_id: str | None
    credits: CreditsSummary
    today: PeriodUsage
    limits: RateLimits


def midnight_utc(now: float) -> float:
    """The start of the UTC day holding `now`."""
    return datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def period_usage(since: float, records: Sequence[UsageRecord]) -> PeriodUsage:
    """Totals of ledger records."""
    return PeriodUsage(
        since=since,
        requests=len(records),
        refused=sum(1 for r in records if r.status >= 400),
        tokens=sum(r.tokens_in + r.tokens_out for r in records),
        credits=sum(r.credits for r in records),
    )


class Account:
    """What a caller's tenant has spent, may still spend, and may do."""

    def __init__(self, gateway: Gateway, limits: Limits) -> None:
        self._gateway, self._limits = gateway, limits

    def usage(self, caller: Caller, start: float | None, end: float | None) -> UsageReport:
        """The tenant's requests with `start <= at < end`, oldest first, with their totals."""
        records = self._gateway.usage(caller.tenant, start, end)
        totals = period_usage(start or 0.0, records)
        return UsageReport(caller.tenant, records, totals.tokens, totals.credits)

    def summary(self, caller: Caller, since: float | None = None) -> AccountSummary:
        """Credits left and their expiry, use since `since` (default: UTC midnight), the rate limits."""
        now = self._gateway.clock.now()
        start = midnight_utc(now) if since is None else since
        per_key, per_tenant = self._limits.per_key, self._limits.per_tenant
        limits = RateLimits(
            per_key.requests_per_minute, per_key.tokens_per_minute, per_key.streams,
            per_tenant.requests_per_minute, per_tenant.tokens_per_minute, per_tenant.streams,
        )  # fmt: skip
        return AccountSummary(
            tenant=caller.tenant,
            auth_enabled=self._gateway.auth_enabled(),
            key_id=caller.key_id,
            credits=self._credits(caller.tenant, now),
            today=period_usage(start, self._gateway.usage(caller.tenant, start, None)),
            limits=limits,
        )

    def _credits(self, tenant: str, now: float) -> CreditsSummary:
        enforced = self._gateway.credits_enforced(tenant)
        live = [
            CreditBlock(g.amount, left, g.granted_at, g.expires_at)
            for g, left in self._gateway.grants(tenant)
            if left > 0 and (g.expires_at is None or g.expires_at > now)
        ]
        expiries = [b.expires_at for b in live if b.expires_at is not None]
        return CreditsSummary(
            enforced=enforced,
            balance=self._gateway.balance(tenant, now) if enforced else None,
            next_expiry=min(expiries) if expiries else None,
            blocks=live,
        )
