"""What the HTTP layer tells governance: failed authentications (audited, never the key), and every
authenticated request's client address (the abuse monitor, which may refuse the caller)."""

from __future__ import annotations

from fastapi import Request

from app.container import Container
from app.gateway.keys import PREFIX, Caller


def address_of(container: Container, request: Request) -> str:
    """The client's address; X-Forwarded-For is believed only from VERITY_TRUSTED_PROXIES."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    return container.client_addresses.of(peer, forwarded)


def route_of(request: Request) -> str:
    """The route's template (`/admin/tenants/{tenant}`), never the path: a path may name a tenant."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "")) or "(no route)"


def key_id_of(presented: str | None) -> str | None:
    """The id part of a presented key of the right shape (ids are not secret), else None."""
    parts = (presented or "").split("-", 2)
    ok = len(parts) == 3 and parts[0] == PREFIX and len(parts[1]) == 12 and parts[1].isalnum()
    return parts[1] if ok else None


def audit_failed_auth(container: Container, request: Request, presented: str | None, reason: str) -> None:
    """One `auth.failed` entry: where from, which path, the key's id if it had one (never the key)."""
    details = {"address": address_of(container, request), "route": route_of(request), "reason": reason}
    if (key_id := key_id_of(presented)) is not None:
        details["key_id"] = key_id
    container.audit.record("anonymous", "auth.failed", details=details)


def watch(container: Container, request: Request, caller: Caller) -> None:
    """Show the abuse monitor a request; raises when the caller is suspended or throttled."""
    container.abuse.saw_request(caller, address_of(container, request))
    container.abuse.check(caller)
