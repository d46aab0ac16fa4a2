"""`verity worker`: a process that parses and embeds the files of queued ingest jobs (docs/ingestion.md).

Workers share the API's PostgreSQL (`VERITY_DATABASE_URL`): the job records and procrastinate's queue
live there. Start as many as the files need, on this machine or others that see the same DATA_DIR.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from app.cli_console import err
from app.container import Container
from app.preflight import check_models, load_settings
from ingest.loaders import warm_up_parsers
from ingest.workers import WorkerTimings, run_worker


def worker(
    name: Annotated[
        str | None, typer.Option(help="this worker's name in the queue's records and logs")
    ] = None,
) -> None:
    """Run queued ingest jobs until stopped (Ctrl-C or SIGTERM end it after the job in hand)."""
    settings = load_settings()
    if not settings.database_url:
        err.print(
            "[red]verity worker needs VERITY_DATABASE_URL: the job queue and job records live in "
            "PostgreSQL. Without it, `verity serve` runs ingest jobs itself.[/red]"
        )
        raise typer.Exit(2)
    check_models(settings, answers=False)
    serve_jobs(Container(settings), name)


def serve_jobs(container: Container, name: str | None = None) -> None:
    """Load the ingest pipeline (models, index), then run queued jobs until stopped; closes the container."""
    settings = container.settings
    assert settings.database_url, "workers take their jobs from PostgreSQL"
    timings = WorkerTimings(settings.worker_heartbeat_s, settings.worker_stalled_after_s)
    try:
        with err.status("loading models"), tempfile.TemporaryDirectory() as scratch:
            runner = container.job_runner
            warm_up_parsers(Path(scratch))
        err.print(f"{f'worker {name}' if name else 'worker'} ready: running ingest jobs from the queue")
        run_worker(settings.database_url, runner, timings, name)
    finally:
        container.close()
