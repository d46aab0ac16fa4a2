"""`/admin` governance routes: the audit trail, retention and purges, tenant erasure, abuse flags, and
key scope changes. Admin key only (`require_admin`); every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from app.container import Container
from app.gateway.keys import Scopes
from app.governance.abuse import Flag
from app.governance.audit import AuditFilter
from app.governance.chain import AuditEntry
from app.governance.erasure import TenantBusy
from app.governance.retention import KINDS, TenantRetention, UnknownKind
from app.http.errors import ApiError, error_responses
from app.http.known_fields import known_fields_only
from app.http.routes_admin import KeyOut, key_out, require_admin
from app.http.times import IsoTime
from app.names import TenantName

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(known_fields_only)])


class AuditEntryOut(BaseModel):
    """One entry of the audit trail, with its place in the hash chain."""

    seq: int
    at: IsoTime
    actor: str
    action: str
    target: str
    tenant: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str
    redacted: bool


class VerifyOut(BaseModel):
    """Whether the chain verifies; when not, the first entry that breaks it, in words."""

    ok: bool
    problem: str | None


class RetentionOut(BaseModel):
    """Days each kind of a tenant's data is kept (null: until deleted), and which are the tenant's own."""

    tenant: str
    days: dict[str, float | None]
    overridden: list[str]


class RetentionIn(BaseModel):
    """One kind of a tenant's data and how long to keep it (unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description=", ".join(KINDS))
    days: float | None = Field(description="days to keep it; null: until deleted", gt=0)


class FlagOut(BaseModel):
    """An abuse flag: the signal, its subject, the action taken and whether it is lifted."""

    id: str
    signal: str
    tenant: str
    key_id: str | None
    action: str
    at: IsoTime
    until: IsoTime | None
    lifted_at: IsoTime | None
    lifted_by: str | None
    details: dict[str, Any]


class ScopesIn(BaseModel):
    """A key's new scopes (unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid")

    scopes: list[str] = Field(description="collection:NAME, endpoint:NAME, model:NAME; empty: all")


def _entry_out(e: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(**{k: v for k, v in e.__dict__.items() if k != "content_hash"})


def _retention_out(r: TenantRetention) -> RetentionOut:
    return RetentionOut(tenant=r.tenant, days=dict(r.days), overridden=sorted(r.overridden))


def _flag_out(f: Flag) -> FlagOut:
    return FlagOut(**{**f.__dict__, "details": dict(f.details)})


@router.get("/audit", response_model=list[AuditEntryOut], responses=error_responses(400, 401, 403))
def audit_list(
    action: str | None = None,
    actor: str | None = None,
    tenant: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(100, ge=1, le=10000),
    container: Container = Depends(require_admin),
) -> list[AuditEntryOut]:
    """Audit entries, newest first; an `action` ending in `.` (`key.`) matches every action under it."""
    where = AuditFilter(
        action,
        actor,
        tenant,
        target,
        since.timestamp() if since else None,
        until.timestamp() if until else None,
        limit,
    )
    return [_entry_out(e) for e in container.audit.entries(where)]


@router.get("/audit/verify", response_model=VerifyOut, responses=error_responses(401, 403))
def audit_verify(container: Container = Depends(require_admin)) -> VerifyOut:
    """Recompute the hash chain: names the first entry edited or removed."""
    problem = container.audit.verify()
    return VerifyOut(ok=problem is None, problem=problem)


@router.get("/retention/{tenant}", response_model=RetentionOut, responses=error_responses(400, 401, 403))
def retention_show(tenant: TenantName, container: Container = Depends(require_admin)) -> RetentionOut:
    """How long each kind of a tenant's data is kept."""
    return _retention_out(container.governance.retention(tenant))


@router.put("/retention/{tenant}", response_model=RetentionOut, responses=error_responses(400, 401, 403))
def retention_set(
    tenant: TenantName, body: RetentionIn, container: Container = Depends(require_admin)
) -> RetentionOut:
    """Set how long one kind of a tenant's data is kept."""
    try:
        return _retention_out(container.governance.set_retention(tenant, body.kind, body.days, "admin"))
    except UnknownKind as exc:
        raise ApiError(400, str(exc), param="kind", code="unknown_kind") from exc


@router.post("/retention/purge", responses=error_responses(401, 403))
def retention_purge(container: Container = Depends(require_admin)) -> dict[str, Any]:
    """Remove everything past its retention now: how many items of each kind went, per tenant."""
    report = container.governance.purge("admin")
    return {"removed": report.removed, "totals": report.totals()}


@router.delete("/tenants/{tenant}", responses=error_responses(400, 401, 403, 409))
def tenant_delete(tenant: TenantName, container: Container = Depends(require_admin)) -> dict[str, Any]:
    """Remove every trace of a tenant's data; says how many items of each kind went."""
    try:
        removed = container.governance.erase(tenant, "admin")
    except TenantBusy as exc:
        raise ApiError(409, str(exc), param="tenant", code="tenant_busy") from exc
    return {"tenant": tenant, "removed": removed}


@router.get("/abuse", response_model=list[FlagOut], responses=error_responses(400, 401, 403))
def abuse_list(
    tenant: TenantName | None = None, active: bool = False, container: Container = Depends(require_admin)
) -> list[FlagOut]:
    """Abuse flags, newest first (only those in force with `active=true`)."""
    return [_flag_out(f) for f in container.abuse.flags(tenant, active)]


@router.post("/abuse/scan", response_model=list[FlagOut], responses=error_responses(401, 403))
def abuse_scan(container: Container = Depends(require_admin)) -> list[FlagOut]:
    """Run the ledger signals now: the flags raised."""
    return [_flag_out(f) for f in container.abuse.scan()]


@router.post("/abuse/{flag_id}/lift", response_model=FlagOut, responses=error_responses(401, 403, 404))
def abuse_lift(flag_id: str, container: Container = Depends(require_admin)) -> FlagOut:
    """Lift a flag after review: the key or tenant is served again."""
    return _flag_out(container.abuse.lift(flag_id, "admin"))


@router.patch("/keys/{key_id}", response_model=KeyOut, responses=error_responses(400, 401, 403, 404))
def key_scopes(key_id: str, body: ScopesIn, container: Container = Depends(require_admin)) -> KeyOut:
    """Change a key's scopes."""
    try:
        scopes = Scopes.parse(body.scopes)
    except ValueError as exc:
        raise ApiError(400, str(exc), param="scopes") from exc
    before, after = container.gateway.change_scopes(key_id, scopes)
    old = Scopes.from_json(before.scopes).describe()
    details = {"before": old, "after": scopes.describe()}
    container.audit.record("admin", "key.scopes", key_id, after.tenant, details)
    return key_out(after)
