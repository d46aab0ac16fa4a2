"""`verity migrate`: apply every store's schema migrations to the configured database, or show where
each component stands (`--status`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app.cli_console import console, err
from app.migrate import ComponentStatus
from app.migrate import migrate as apply_migrations
from app.migrate import status as migration_status
from app.preflight import PreflightError, load_settings
from retrieval.databases.errors import StorageError


def migrate(
    show_status: Annotated[
        bool,
        typer.Option("--status", help="show each component's applied and latest version; change nothing"),
    ] = False,
) -> None:
    """Bring every store's tables to this release's schema (in VERITY_DATABASE_URL, else DATA_DIR).

    Servers and workers also migrate at start-up; run this first when several share one database.
    """
    settings = load_settings()
    try:
        if show_status:
            _print_status(migration_status(settings))
            return
        applied = apply_migrations(settings)
    except StorageError as exc:
        raise PreflightError(str(exc)) from exc
    for component, versions in applied.items():
        done = f"applied {', '.join(map(str, versions))}" if versions else "up to date"
        err.print(f"{component}: {done}")


def _print_status(rows: list[ComponentStatus]) -> None:
    table = Table("component", "applied", "latest", "state", "where")
    pending = 0
    for row in rows:
        state = f"{row.pending} pending" if row.pending else "up to date"
        pending += row.pending
        table.add_row(row.component, str(row.applied), str(row.latest), state, row.where)
    console.print(table)
    if pending:
        err.print("run `verity migrate` to apply the pending migrations")
