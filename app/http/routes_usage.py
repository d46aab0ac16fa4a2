"""`GET /v1/usage`: the calling tenant's records in the usage ledger."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import error_responses
from app.http.known_fields import known_fields_only
from app.http.times import IsoTime

router = APIRouter(tags=["usage"], dependencies=[Depends(known_fields_only)])


class UsageOut(BaseModel):
    """One request in the ledger."""

    request_id: str
    key_id: str | None
    endpoint: str
    model: str
    at: IsoTime
    status: int
    tokens_in: int
    tokens_out: int
    credits: int
    duration_ms: float
    latency_ms: Mapping[str, float]


class UsageList(BaseModel):
    """The tenant's requests in a time window, with totals."""

    object: str = "list"
    tenant: str
    data: list[UsageOut]
    total_tokens: int
    total_credits: int


@router.get("/v1/usage", response_model=UsageList, responses=error_responses(400, 401, 403))
def list_usage(
    start_time: float | None = Query(None, description="unix seconds, inclusive"),
    end_time: float | None = Query(None, description="unix seconds, exclusive"),
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("usage")),
) -> UsageList:
    """The calling tenant's requests with `start_time <= at < end_time`, oldest first."""
    report = container.account.usage(caller, start_time, end_time)
    data = [UsageOut(**{k: v for k, v in r.__dict__.items() if k != "tenant"}) for r in report.records]
    return UsageList(
        tenant=report.tenant, data=data, total_tokens=report.total_tokens, total_credits=report.total_credits
    )
