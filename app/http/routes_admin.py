"""`/admin`: keys and credits, for operators holding the admin key (`VERITY_ADMIN_KEY`)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from app.container import Container
from app.gateway.credits import MAX_CREDITS, Grant
from app.gateway.keys import Scopes
from app.gateway.store import KeyRecord
from app.http.deps import bearer, get_container
from app.http.errors import ApiError, error_responses
from app.http.known_fields import known_fields_only
from app.http.times import IsoTime
from app.names import TenantName

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(known_fields_only)])


def require_admin(
    container: Container = Depends(get_container),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Container:
    """Let through only the admin key, compared in constant time."""
    container.gateway.check_admin(credentials.credentials if credentials else None)
    return container


class KeyIn(BaseModel):
    """A key to create (unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid")

    tenant: TenantName
    scopes: list[str] = Field(default_factory=list, description="collection:NAME, endpoint:NAME, model:NAME")
    name: str = ""


class KeyOut(BaseModel):
    """A key as listed (the secret is shown only once, when created)."""

    id: str
    tenant: str
    name: str
    scopes: dict[str, list[str] | None]
    created_at: IsoTime
    revoked_at: IsoTime | None
    key: str | None = None


class GrantIn(BaseModel):
    """A credit block to grant (unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid")

    tenant: TenantName
    amount: int = Field(description=f"credits, 1 to {MAX_CREDITS}")
    expires_at: float | None = Field(None, description="unix seconds up to year 9999; none: never expires")
    priority: int = Field(0, description="among blocks expiring together, lower numbers are spent first")
    idempotency_key: str | None = Field(None, description="a repeat with the same key grants nothing more")
    granted_at: float | None = Field(None, description="the event time (unix seconds); default now")


class GrantOut(BaseModel):
    """A credit block and its remainder."""

    key: str
    amount: int
    granted_at: IsoTime
    expires_at: IsoTime | None
    priority: int
    remaining: int


class CreditsOut(BaseModel):
    """A tenant's balance now and its blocks."""

    tenant: str
    balance: int
    grants: list[GrantOut]
    granted: bool | None = None


def key_out(record: KeyRecord, key: str | None = None) -> KeyOut:
    """Render a key record."""
    return KeyOut(**{**record.__dict__, "scopes": json.loads(record.scopes), "key": key})


def grant_out(grant: Grant, remaining: int) -> GrantOut:
    """Render a credit block."""
    return GrantOut(**grant.__dict__, remaining=remaining)


@router.post("/keys", response_model=KeyOut, status_code=201, responses=error_responses(400, 401, 403))
def create(body: KeyIn, container: Container = Depends(require_admin)) -> KeyOut:
    """Create a key for a tenant; the response holds the key, shown only this once."""
    try:
        scopes = Scopes.parse(body.scopes)
    except ValueError as exc:
        raise ApiError(400, str(exc), param="scopes") from exc
    key, record = container.gateway.create_key(body.tenant, scopes, body.name)
    return key_out(record, key)


@router.get("/keys", response_model=list[KeyOut], responses=error_responses(400, 401, 403))
def list_keys(
    tenant: TenantName | None = None, container: Container = Depends(require_admin)
) -> list[KeyOut]:
    """Every key (or one tenant's), without secrets."""
    return [key_out(r) for r in container.gateway.list_keys(tenant)]


@router.delete("/keys/{key_id}", response_model=KeyOut, responses=error_responses(401, 403, 404))
def revoke(key_id: str, container: Container = Depends(require_admin)) -> KeyOut:
    """Revoke a key: requests with it are refused from now on."""
    return key_out(container.gateway.revoke_key(key_id))


def credits_out(container: Container, tenant: str) -> CreditsOut:
    """A tenant's balance and blocks now."""
    gateway = container.gateway
    grants = [grant_out(g, remaining) for g, remaining in gateway.grants(tenant)]
    return CreditsOut(tenant=tenant, balance=gateway.balance(tenant), grants=grants)


@router.post("/credits", response_model=CreditsOut, status_code=201, responses=error_responses(400, 401, 403))
def grant(body: GrantIn, container: Container = Depends(require_admin)) -> CreditsOut:
    """Grant a tenant a block of credits; `granted` is false when the idempotency key was already used."""
    _, granted = container.gateway.grant(
        body.tenant, body.amount, body.expires_at, body.priority, body.idempotency_key, body.granted_at
    )
    return credits_out(container, body.tenant).model_copy(update={"granted": granted})


@router.get("/credits/{tenant}", response_model=CreditsOut, responses=error_responses(400, 401, 403))
def credits(tenant: TenantName, container: Container = Depends(require_admin)) -> CreditsOut:
    """A tenant's balance now and its credit blocks."""
    return credits_out(container, tenant)
