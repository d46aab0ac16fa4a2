"""`GET /v1/account`: what the calling tenant may still spend and do, for people (the chat UI's panel)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import error_responses

router = APIRouter(tags=["usage"])


class CreditBlockOut(BaseModel):
    """A grant with credits left (times are Unix seconds; no expiry: null)."""

    amount: int
    remaining: int
    granted_at: float
    expires_at: float | None


class CreditsSummary(BaseModel):
    """The tenant's credits: whether they apply, the balance now, and the blocks it is made of."""

    enforced: bool
    balance: int | None = Field(description="credits left now (open holds count as spent); null: not used")
    next_expiry: float | None = Field(description="when the next block with credits left expires")
    blocks: list[CreditBlockOut]


class PeriodUsage(BaseModel):
    """Requests, tokens and credits since a time."""

    since: float
    requests: int
    refused: int = Field(description="requests refused (status 400 or more)")
    tokens: int
    credits: int


class LimitsOut(BaseModel):
    """Rate limits of the server (null: none)."""

    key_rpm: int | None
    key_tpm: int | None
    key_streams: int | None
    tenant_rpm: int | None
    tenant_tpm: int | None
    tenant_streams: int | None


class AccountOut(BaseModel):
    """`GET /v1/account`."""

    object: str = "account"
    tenant: str
    auth_enabled: bool
    key_id: str | None
    credits: CreditsSummary
    today: PeriodUsage
    limits: LimitsOut


def _midnight_utc(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def _credits(container: Container, tenant: str, now: float) -> CreditsSummary:
    gateway = container.gateway
    enforced = gateway.credits_enforced(tenant)
    live = [
        CreditBlockOut(amount=g.amount, remaining=left, granted_at=g.granted_at, expires_at=g.expires_at)
        for g, left in gateway.store.grants(tenant)
        if left > 0 and (g.expires_at is None or g.expires_at > now)
    ]
    expiries = [b.expires_at for b in live if b.expires_at is not None]
    return CreditsSummary(
        enforced=enforced,
        balance=gateway.store.balance(tenant, now) if enforced else None,
        next_expiry=min(expiries) if expiries else None,
        blocks=live,
    )


@router.get("/v1/account", response_model=AccountOut, responses=error_responses(400, 401, 403))
def account(
    since: float | None = Query(
        None,
        ge=0,
        le=1e11,
        allow_inf_nan=False,
        description="start of 'today' in Unix seconds (default: UTC midnight)",
    ),
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("usage")),
) -> AccountOut:
    """The caller's tenant: credits left and their expiry, requests and tokens today, the rate limits."""
    now = container.gateway.clock.now()
    start = _midnight_utc(now) if since is None else since
    records = container.gateway.store.usage(caller.tenant, start, None)
    return AccountOut(
        tenant=caller.tenant,
        auth_enabled=container.gateway.auth_enabled(),
        key_id=caller.key_id,
        credits=_credits(container, caller.tenant, now),
        today=PeriodUsage(
            since=start,
            requests=len(records),
            refused=sum(1 for r in records if r.status >= 400),
            tokens=sum(r.tokens_in + r.tokens_out for r in records),
            credits=sum(r.credits for r in records),
        ),
        limits=_limits(container),
    )


def _limits(container: Container) -> LimitsOut:
    s = container.settings
    names = ("key_rpm", "key_tpm", "key_streams", "tenant_rpm", "tenant_tpm", "tenant_streams")
    return LimitsOut(**{name: getattr(s, name) for name in names})
