"""`verity keys`, `verity credits` and `verity usage`: the gateway's operator commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from app.cli_console import console, err
from app.container import Container
from app.gateway.errors import GatewayError
from app.gateway.keys import Scopes, create_key
from app.names import InvalidName, check_tenant_name
from app.settings import Settings

keys_app = typer.Typer(help="API keys of tenants (the gateway).", no_args_is_help=True)
credits_app = typer.Typer(help="Prepaid credits of tenants.", no_args_is_help=True)
usage_app = typer.Typer(help="The usage ledger.", no_args_is_help=True)


def _gateway_container() -> Container:
    return Container(Settings())


def _when(text: str | None) -> float | None:
    """Unix seconds from an ISO 8601 time (UTC when no zone is given)."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _iso(seconds: float | None) -> str:
    return "never" if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="the tenant the key acts for")],
    scope: Annotated[
        list[str] | None, typer.Option(help="collection:NAME, endpoint:NAME or model:NAME (repeat)")
    ] = None,
    name: Annotated[str, typer.Option(help="a label for people")] = "",
) -> None:
    """Create an API key; the key is printed alone on the last line, and shown only this once."""
    try:
        scopes = Scopes.parse(scope or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scope") from exc
    try:
        check_tenant_name(tenant)
    except InvalidName as exc:
        raise typer.BadParameter(str(exc), param_hint="--tenant") from exc
    container = _gateway_container()
    gateway = container.gateway
    key, record = create_key(gateway.store, gateway.clock, tenant, scopes, name)
    container.audit.record("cli", "key.create", record.id, record.tenant, {"scopes": scopes.describe()})
    err.print(f"created key {record.id} for tenant {tenant!r}; store it now, it is not shown again:")
    print(key)


@keys_app.command("list")
def keys_list(tenant: Annotated[str | None, typer.Option(help="only this tenant's keys")] = None) -> None:
    """List keys (never their secrets)."""
    table = Table("id", "tenant", "name", "scopes", "created", "revoked")
    for r in _gateway_container().gateway.store.list_keys(tenant):
        revoked = _iso(r.revoked_at) if r.revoked_at else ""
        table.add_row(
            r.id, r.tenant, r.name, Scopes.from_json(r.scopes).describe(), _iso(r.created_at), revoked
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key's id (verity keys list)")]) -> None:
    """Revoke a key."""
    container = _gateway_container()
    gateway = container.gateway
    try:
        gateway.store.revoke_key(key_id, gateway.clock.now())
    except GatewayError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    record = gateway.store.get_key(key_id)
    container.audit.record("cli", "key.revoke", key_id, record.tenant if record else None)
    console.print(f"revoked {key_id}")


@credits_app.command("grant")
def credits_grant(
    tenant: Annotated[str, typer.Option(help="the tenant")],
    amount: Annotated[int, typer.Option(min=1, help="credits (one credit is one token by default)")],
    expires: Annotated[str | None, typer.Option(help="ISO 8601 expiry (UTC unless a zone is given)")] = None,
    priority: Annotated[int, typer.Option(help="among blocks expiring together, lower is spent first")] = 0,
    idempotency_key: Annotated[str | None, typer.Option(help="a repeat with this key grants nothing")] = None,
) -> None:
    """Grant a tenant a block of credits."""
    container = _gateway_container()
    gateway = container.gateway
    try:
        block, granted = gateway.grant(tenant, amount, _when(expires), priority, idempotency_key)
    except GatewayError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if granted:
        details = {"amount": block.amount, "expires_at": block.expires_at}
        container.audit.record("cli", "credit.grant", block.key, tenant, details)
    verb = "granted" if granted else "already granted (idempotency key seen), nothing added:"
    console.print(f"{verb} {block.amount} credits to {tenant!r}, expiring {_iso(block.expires_at)}")
    console.print(str(gateway.store.balance(tenant, gateway.clock.now())))


@credits_app.command("balance")
def credits_balance(tenant: Annotated[str, typer.Option(help="the tenant")]) -> None:
    """A tenant's balance now (open holds count as spent), alone on the last line."""
    gateway = _gateway_container().gateway
    print(gateway.store.balance(tenant, gateway.clock.now()))


@credits_app.command("history")
def credits_history(tenant: Annotated[str, typer.Option(help="the tenant")]) -> None:
    """A tenant's credit blocks and the requests that spent credits."""
    store = _gateway_container().gateway.store
    blocks = Table("grant", "amount", "remaining", "granted", "expires", "priority", title="credit blocks")
    for g, remaining in store.grants(tenant):
        blocks.add_row(
            g.key, str(g.amount), str(remaining), _iso(g.granted_at), _iso(g.expires_at), str(g.priority)
        )
    console.print(blocks)
    spent = Table("request", "at", "endpoint", "model", "status", "tokens", "credits", title="usage")
    for u in store.usage(tenant):
        spent.add_row(u.request_id, _iso(u.at), u.endpoint, u.model, str(u.status),
                      str(u.tokens_in + u.tokens_out), str(u.credits))  # fmt: skip
    console.print(spent)


@usage_app.command("reconcile")
def usage_reconcile() -> None:
    """Recompute every tenant's remaining credits from grants and the usage ledger; report any drift."""
    drifts = _gateway_container().gateway.store.reconcile()
    table = Table("tenant", "stored", "recomputed", "drift")
    for d in drifts:
        table.add_row(d.tenant, str(d.stored), str(d.recomputed), str(d.stored - d.recomputed))
    console.print(table)
    drifted = [d for d in drifts if d.stored != d.recomputed]
    console.print(f"{len(drifted)} of {len(drifts)} tenants drift")
    if drifted:
        raise typer.Exit(1)
