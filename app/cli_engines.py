"""`verity engines` and `verity canary`: drain engine replicas for maintenance, and promote or roll back
a canary model. Both write the rollout file in the data directory (app.rollout) that every gateway on
that directory reads before each request, so no gateway needs restarting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from app.cli_console import console, err
from app.rollout import RolloutFile
from app.settings import Settings
from generation.engines.openai_http import OpenAIHttpEngine

engines_app = typer.Typer(
    help="Engine replicas (VERITY_ENGINE_URLS): health and draining.", no_args_is_help=True
)
canary_app = typer.Typer(
    help="The canary model (VERITY_CANARY_ENGINE_URLS): status, promote, rollback.", no_args_is_help=True
)


def _rollout(settings: Settings) -> RolloutFile:
    return RolloutFile(settings.rollout_path, settings.canary_model)


def _configured(settings: Settings) -> list[tuple[str, str]]:
    """(pool, url) of every configured replica."""
    return [("stable", u) for u in settings.engine_urls] + [
        ("canary", u) for u in settings.canary_engine_urls
    ]


@engines_app.command("list")
def engines_list() -> None:
    """Each configured replica: its pool, whether it answers its health check now, whether it is drained."""
    settings = Settings()
    drained = _rollout(settings).drained()
    table = Table("pool", "replica", "health", "drained")
    for pool, url in _configured(settings):
        engine = OpenAIHttpEngine(url, settings.engine_model or settings.llm_model, timeout_s=5.0)
        healthy = engine.healthy()
        engine.close()
        table.add_row(pool, url, "up" if healthy else "DOWN", "yes" if url in drained else "no")
    if not table.rows:
        err.print("no engine replicas are configured (set VERITY_ENGINE_URLS)")
        raise typer.Exit(1)
    console.print(table)


def _set_drained(url: str, drained: bool) -> None:
    settings = Settings()
    known = [u for _, u in _configured(settings)]
    if url not in known:
        err.print(
            f"[red]no replica {url!r} is configured; known: {', '.join(known) or 'none'}[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    now = _rollout(settings).set_drained(url, drained)
    console.print(f"drained: {', '.join(sorted(now)) or 'none'}", highlight=False, soft_wrap=True)


@engines_app.command("drain")
def engines_drain(url: Annotated[str, typer.Argument(help="the replica's URL, as configured")]) -> None:
    """Send no new request to this replica (those it runs finish); every gateway follows at once."""
    _set_drained(url, True)


@engines_app.command("undrain")
def engines_undrain(url: Annotated[str, typer.Argument(help="the replica's URL, as configured")]) -> None:
    """Return a drained replica to service."""
    _set_drained(url, False)


def _canary_settings() -> Settings:
    settings = Settings()
    if not settings.canary_engine_urls:
        message = "no canary is configured (set VERITY_CANARY_ENGINE_URLS and VERITY_CANARY_MODEL)"
        err.print(f"[red]{message}[/red]", soft_wrap=True)
        raise typer.Exit(1)
    return settings


@canary_app.command("status")
def canary_status() -> None:
    """The canary model, its share of traffic, and its decision (with who made it and why)."""
    settings = _canary_settings()
    rollout = _rollout(settings)
    decision, record = rollout.decision(), rollout.canary()
    share = {"active": settings.canary_share, "promoted": 1.0, "rolled_back": 0.0}[decision]
    console.print(
        f"canary {settings.canary_model or 'canary'}: {decision}, {share:.0%} of traffic",
        highlight=False,
        soft_wrap=True,
    )
    if record.get("model") == settings.canary_model and record.get("reason"):
        at = datetime.fromtimestamp(record["at"], UTC).isoformat(timespec="seconds")
        console.print(f"decided {at}: {record['reason']}", highlight=False, soft_wrap=True)
    where = "per-version requests, errors and latency: GET /metrics (verity_canary_*) or /admin/canary"
    console.print(where, soft_wrap=True)


@canary_app.command("promote")
def canary_promote() -> None:
    """Send all traffic to the canary (then make it the stable model in the settings at leisure)."""
    settings = _canary_settings()
    _rollout(settings).decide("promoted", "by an operator (verity canary promote)")
    canary_status()


@canary_app.command("rollback")
def canary_rollback() -> None:
    """Send all traffic back to the stable model."""
    settings = _canary_settings()
    _rollout(settings).decide("rolled_back", "by an operator (verity canary rollback)")
    canary_status()
