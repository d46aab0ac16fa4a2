"""`verity audit`, `verity retention`, `verity tenants` and `verity abuse`: governance for operators,
and `verity keys scopes`. Every change is audited with the actor `cli`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from app.cli_console import console, err
from app.cli_gateway import _iso, _when, keys_app
from app.container import Container
from app.gateway.errors import GatewayError
from app.gateway.keys import Scopes
from app.governance.audit import AuditFilter
from app.governance.erasure import TenantBusy
from app.governance.retention import KINDS, UnknownKind
from app.names import InvalidName, check_tenant_name
from app.settings import Settings

audit_app = typer.Typer(help="The audit trail: list entries, verify the hash chain.", no_args_is_help=True)
retention_app = typer.Typer(
    help="How long tenants' data is kept; purge what is past it.", no_args_is_help=True
)
tenants_app = typer.Typer(help="Tenants: erase one with every trace of its data.", no_args_is_help=True)
abuse_app = typer.Typer(help="Abuse flags: list, lift, scan the ledger now.", no_args_is_help=True)
ACTOR = "cli"


def _container() -> Container:
    return Container(Settings())


def _tenant(name: str) -> str:
    try:
        return check_tenant_name(name)
    except InvalidName as exc:
        raise typer.BadParameter(str(exc), param_hint="TENANT") from exc


@audit_app.command("list")
def audit_list(
    action: Annotated[str | None, typer.Option(help="an action, or a prefix ending in '.' (key.)")] = None,
    actor: Annotated[str | None, typer.Option(help="who acted: admin, cli, key:ID, ...")] = None,
    tenant: Annotated[str | None, typer.Option(help="only this tenant's entries")] = None,
    target: Annotated[str | None, typer.Option(help="only entries on this target")] = None,
    since: Annotated[str | None, typer.Option(help="ISO 8601 time (UTC unless a zone is given)")] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601 time, exclusive")] = None,
    limit: Annotated[int, typer.Option(min=1, help="most entries shown, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Audit entries, newest first."""
    container = _container()
    entries = container.audit.entries(
        AuditFilter(action, actor, tenant, target, _when(since), _when(until), limit)
    )
    container.close()
    if as_json:
        for e in entries:
            print(json.dumps({**e.__dict__, "details": dict(e.details)}, sort_keys=True))
        return
    table = Table("seq", "at", "actor", "action", "target", "tenant", "details")
    for e in entries:
        details = json.dumps(dict(e.details), sort_keys=True) if e.details else ""
        table.add_row(str(e.seq), _iso(e.at), e.actor, e.action, e.target, e.tenant or "", details)
    console.print(table)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 1 naming the first entry edited or removed."""
    container = _container()
    problem = container.audit.verify()
    container.close()
    if problem is not None:
        err.print(f"[red]the audit trail does not verify: {problem}[/red]", highlight=False)
        raise typer.Exit(1)
    console.print("the audit trail verifies")


def _show_retention(container: Container, tenant: str) -> None:
    r = container.governance.retention(tenant)
    table = Table("kind", "days", "source", title=f"retention of {tenant!r}", title_justify="left")
    for kind in KINDS:
        days = r.days[kind]
        source = "tenant" if kind in r.overridden else "default"
        table.add_row(kind, "until deleted" if days is None else f"{days:g}", source)
    console.print(table)


@retention_app.command("show")
def retention_show(tenant: Annotated[str, typer.Argument(help="the tenant")]) -> None:
    """How long each kind of a tenant's data is kept."""
    container = _container()
    _show_retention(container, _tenant(tenant))
    container.close()


@retention_app.command("set")
def retention_set(
    tenant: Annotated[str, typer.Argument(help="the tenant")],
    kind: Annotated[str, typer.Argument(help=", ".join(KINDS))],
    days: Annotated[str, typer.Argument(help="days to keep it, 'forever', or 'default'")],
) -> None:
    """Set how long one kind of a tenant's data is kept."""
    container = _container()
    governance, tenant = container.governance, _tenant(tenant)
    try:
        if days == "default":
            governance.reset_retention(tenant, kind, ACTOR)
        else:
            value = None if days == "forever" else float(days)
            if value is not None and value <= 0:
                raise typer.BadParameter("days must be more than 0", param_hint="DAYS")
            governance.set_retention(tenant, kind, value, ACTOR)
    except UnknownKind as exc:
        raise typer.BadParameter(str(exc), param_hint="KIND") from exc
    except ValueError as exc:
        raise typer.BadParameter(
            f"{days!r}: a number of days, forever or default", param_hint="DAYS"
        ) from exc
    _show_retention(container, tenant)
    container.close()


@retention_app.command("purge")
def retention_purge() -> None:
    """Remove everything past its retention now, from every store; prints what went."""
    container = _container()
    report = container.governance.purge(ACTOR)
    container.close()
    table = Table("tenant", *KINDS)
    for tenant, counts in sorted(report.removed.items()):
        table.add_row(tenant or "(none)", *(str(counts.get(k, 0)) for k in KINDS))
    console.print(table)
    console.print(f"removed {sum(report.totals().values())} items past their retention")


@tenants_app.command("delete")
def tenants_delete(
    tenant: Annotated[str, typer.Argument(help="the tenant to erase")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Remove every trace of a tenant's data (documents, vectors, files, conversations, feedback, keys,
    credits, usage, jobs, retention, abuse flags); the audit trail keeps only that it happened."""
    tenant = _tenant(tenant)
    if not yes and not typer.confirm(f"erase tenant {tenant!r} and all its data?"):
        raise typer.Exit(1)
    container = _container()
    try:
        removed = container.governance.erase(tenant, ACTOR)
    except TenantBusy as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        container.close()
    table = Table("kind", "removed", title=f"erased tenant {tenant!r}", title_justify="left")
    for kind, n in removed.items():
        table.add_row(kind, str(n))
    console.print(table)


@abuse_app.command("list")
def abuse_list(
    tenant: Annotated[str | None, typer.Option(help="only this tenant's flags")] = None,
    active: Annotated[bool, typer.Option("--active", help="only flags in force")] = False,
) -> None:
    """Abuse flags, newest first: signal, subject, action, and whether in force or lifted."""
    container = _container()
    flags, now = container.abuse.store.flags(tenant), container.gateway.clock.now()
    container.close()
    table = Table("flag", "signal", "tenant", "key", "action", "at", "state", "details")
    for f in flags:
        if active and not f.active(now):
            continue
        state = "in force" if f.active(now) else (f"lifted by {f.lifted_by}" if f.lifted_at else "ran out")
        details = json.dumps(dict(f.details), sort_keys=True)
        table.add_row(f.id, f.signal, f.tenant, f.key_id or "", f.action, _iso(f.at), state, details)
    console.print(table)


@abuse_app.command("lift")
def abuse_lift(flag_id: Annotated[str, typer.Argument(help="the flag (verity abuse list)")]) -> None:
    """Lift a flag after review: the key or tenant is served again."""
    container = _container()
    try:
        flag = container.abuse.lift(flag_id, ACTOR)
    except GatewayError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        container.close()
    console.print(f"lifted {flag.id} ({flag.signal}, {flag.action} of {flag.key_id or flag.tenant})")


@abuse_app.command("scan")
def abuse_scan() -> None:
    """Run the ledger signals (correlated bursts, tenant spikes) now; prints the flags raised."""
    container = _container()
    flags = container.abuse.scan()
    container.close()
    for f in flags:
        console.print(f"{f.id} {f.signal} {f.action} {f.key_id or f.tenant}", highlight=False)
    console.print(f"{len(flags)} flags raised")


@keys_app.command("scopes")
def keys_scopes(
    key_id: Annotated[str, typer.Argument(help="the key's id (verity keys list)")],
    scope: Annotated[
        list[str] | None,
        typer.Option(help="collection:NAME, endpoint:NAME or model:NAME (repeat); none: all"),
    ] = None,
) -> None:
    """Replace a key's scopes."""
    try:
        scopes = Scopes.parse(scope or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scope") from exc
    container = _container()
    store = container.gateway.store
    before = store.get_key(key_id)
    if before is None:
        container.close()
        err.print(f"[red]no key with id {key_id!r}[/red]")
        raise typer.Exit(1)
    store.set_scopes(key_id, scopes.to_json())
    details = {"before": Scopes.from_json(before.scopes).describe(), "after": scopes.describe()}
    container.audit.record(ACTOR, "key.scopes", key_id, before.tenant, details)
    container.close()
    console.print(f"key {key_id} scopes: {scopes.describe()}")


def mount(app: typer.Typer) -> None:
    """Add the governance commands to `verity`."""
    app.add_typer(audit_app, name="audit")
    app.add_typer(retention_app, name="retention")
    app.add_typer(tenants_app, name="tenants")
    app.add_typer(abuse_app, name="abuse")
