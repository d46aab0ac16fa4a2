"""`GET /v1/account`: what the calling tenant may still spend and do, for people (the chat UI's panel)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import error_responses
from app.http.known_fields import known_fields_only

router = APIRouter(tags=["usage"], dependencies=[Depends(known_fields_only)])


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
    return AccountOut.model_validate(container.account.summary(caller, since), from_attributes=True)
