"""The `verity` command: ingest, ask, serve; evaluation, safety and gateway commands are mounted from
their own modules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast, get_args

import typer
from rich.table import Table

from app import cli_chat, cli_feedback, cli_gateway
from app.cli_console import console, err, progress_bars
from app.cli_eval import eval_app
from app.cli_safety import safety_app
from app.container import Container
from app.gateway.errors import GatewayError
from app.names import InvalidName, check_collection_name
from app.settings import Settings
from generation.answer import DeltaEvent, DoneEvent, SourcesEvent
from generation.prompts import source_label
from ingest.pipeline import DuplicatePolicy
from ingest.pipeline import Progress as IngestProgress
from retrieval.types import DEFAULT_COLLECTION, DEFAULT_TENANT, Scope

if TYPE_CHECKING:
    pass

Stage = Callable[[str, int, int], None]

app = typer.Typer(
    help="Verity: answers questions over your own documents, with cited passages.",
    no_args_is_help=True,
    add_completion=False,
    # Errors print as click's plain lines, not Typer's Rich box: the box wraps the message at the
    # terminal's width and splits long paths (the subcommands' own help stays Rich).
    rich_markup_mode=None,
)
eval_app.command("export-feedback")(cli_feedback.export_feedback)
app.command("chat")(cli_chat.chat)
app.add_typer(eval_app, name="eval")
app.add_typer(safety_app, name="safety")
app.add_typer(cli_gateway.keys_app, name="keys")
app.add_typer(cli_gateway.credits_app, name="credits")
app.add_typer(cli_gateway.usage_app, name="usage")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files and folders to ingest")],
    collection: Annotated[str, typer.Option(help="collection to file them in")] = DEFAULT_COLLECTION,
    on_duplicate: Annotated[
        str, typer.Option(help="a changed file already filed: overwrite, skip or fail")
    ] = "overwrite",
) -> None:
    """Ingest files and folders (PDF, DOCX, HTML, Markdown, PPTX, XLSX, CSV, text)."""
    if on_duplicate not in get_args(DuplicatePolicy):
        raise typer.BadParameter("must be overwrite, skip or fail", param_hint="--on-duplicate")
    try:
        check_collection_name(collection)
    except InvalidName as exc:
        raise typer.BadParameter(str(exc), param_hint="--collection") from exc
    container = Container(Settings())
    with progress_bars() as bar:
        task = bar.add_task("loading models", total=None)
        pipeline = container.ingest_pipeline

        def show(p: IngestProgress) -> None:
            bar.update(
                task, description=f"ingesting {p.current}"[:60], completed=p.files_done, total=p.files_total
            )

        policy = cast(DuplicatePolicy, on_duplicate)
        report = pipeline.ingest(paths, DEFAULT_TENANT, collection, on_progress=show, on_duplicate=policy)
    console.print(
        f"added {report.count('added')}, replaced {report.count('replaced')}, "
        f"unchanged {report.count('unchanged')}, failed {len(report.failed)}"
        + (f", skipped {report.count('skipped')} (changed, kept as filed)" if report.count("skipped") else "")
    )
    for outcome in report.failed:
        console.print(f"[red]failed[/red] {outcome.path}: {outcome.error}")
    container.close()
    if report.failed:
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question")],
    collection: Annotated[str | None, typer.Option(help="search only this collection")] = None,
    top_k: Annotated[int | None, typer.Option(help="passages to retrieve")] = None,
) -> None:
    """Answer a question from the ingested documents, streaming the answer, then list its sources."""
    try:
        _ = collection is None or check_collection_name(collection)
    except InvalidName as exc:
        raise typer.BadParameter(str(exc), param_hint="--collection") from exc
    container = Container(Settings())
    scope = Scope(DEFAULT_TENANT, collection)
    with err.status("loading models"):
        pipeline = container.answers
    done: DoneEvent | None = None
    for event in pipeline.run(question, scope, top_k or container.settings.top_k):
        if isinstance(event, SourcesEvent) and not event.passages:
            err.print("[yellow]no passage matched: is anything ingested?[/yellow]")
        elif isinstance(event, DeltaEvent):
            console.print(event.text, end="", markup=False, highlight=False)
        elif isinstance(event, DoneEvent):
            done = event
    console.print()
    if done is not None and done.citations:
        table = Table("#", "source", "passage", title="Sources cited", title_justify="left")
        for c in done.citations:
            text = " ".join(c.passage.chunk.text.split())
            table.add_row(
                str(c.number), source_label(c.passage), text[:160] + ("…" if len(text) > 160 else "")
            )
        console.print(table)
    container.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind (default: VERITY_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: VERITY_PORT)")] = None,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    from app.http.main import create_app

    settings = Settings()
    container = Container(settings)
    url = f"http://{host or settings.host}:{port or settings.port}"
    try:
        container.gateway.check_serving(host or settings.host)
    except GatewayError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if released := container.gateway.store.release_abandoned_holds():
        err.print(f"released {released} credit holds left open by a previous run")

    def banner() -> None:
        example = '{"question": "Which file formats can Verity read?", "stream": true}'
        lines = [
            f"\nVerity is serving on {url}  (API docs: {url}/docs)",
            "Try:",
            f"  curl -N {url}/v1/answers -H 'Content-Type: application/json' -d '{example}'\n",
        ]
        if container.gateway.auth_enabled():
            lines[-1] = lines[-1].rstrip() + " -H 'Authorization: Bearer <key>'\n"
        console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)

    uvicorn.run(create_app(container, banner), host=host or settings.host, port=port or settings.port)


def main() -> None:
    """Entry point of the `verity` command."""
    app()
