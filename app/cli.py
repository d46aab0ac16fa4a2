"""The `verity` command: ingest, ask, serve; evaluation, safety and gateway commands are mounted from
their own modules."""

from __future__ import annotations

import contextlib
import importlib.metadata
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, cast, get_args

import typer
from pydantic import ValidationError
from rich.progress import Progress, TaskID

from app import cli_chat, cli_docs, cli_engines, cli_feedback, cli_gateway, cli_storage, cli_worker
from app.cli_answer import RemoteError, ask_server, print_delta, server_url, show_result
from app.cli_console import console, err, native_stderr_silenced, progress_bars, quiet_libraries
from app.cli_eval import EVAL_ERRORS, eval_app
from app.cli_safety import safety_app
from app.container import Container
from app.gateway.errors import GatewayError
from app.http.schemas import done_payload, source_out
from app.names import InvalidName, check_collection_name
from app.preflight import (
    SETTINGS_EXIT,
    PreflightError,
    check_models,
    files_to_ingest,
    load_settings,
    require_documents,
    settings_error_line,
)
from app.store_backends import has_catalog
from generation.answer import DeltaEvent, DoneEvent, SourcesEvent
from generation.errors import GenerationError
from generation.safety.errors import SafetyError
from ingest.pipeline import DuplicatePolicy, IngestPipeline, IngestReport
from ingest.pipeline import Progress as IngestProgress
from retrieval.databases.errors import StorageError
from retrieval.errors import RetrievalError
from retrieval.types import DEFAULT_COLLECTION, DEFAULT_TENANT, Passage, Scope

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
app.command("worker")(cli_worker.worker)
app.command("migrate")(cli_storage.migrate)
app.add_typer(eval_app, name="eval")
app.add_typer(safety_app, name="safety")
app.add_typer(cli_gateway.keys_app, name="keys")
app.add_typer(cli_gateway.credits_app, name="credits")
app.add_typer(cli_gateway.usage_app, name="usage")
app.add_typer(cli_engines.engines_app, name="engines")
app.add_typer(cli_engines.canary_app, name="canary")
cli_docs.mount(app)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"verity {verity_version()}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="print Verity's version and exit", is_eager=True, callback=_print_version
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="show library logs, progress bars and tracebacks")
    ] = False,
) -> None:
    """Verity: answers questions over your own documents, with cited passages."""


def verity_version() -> str:
    """The installed package's version (the source tree's when run from a checkout)."""
    try:
        return importlib.metadata.version("verity")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


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
    _check_collection_option(collection)
    settings = load_settings()
    files, passed_over = files_to_ingest(paths)
    check_models(settings, answers=False)
    container = Container(settings)
    with quiet_native():
        with err.status("loading models"):
            pipeline = container.ingest_pipeline
        with progress_bars() as bar:
            task = bar.add_task("ingesting", total=len(files))
            report = _ingest_with_progress(pipeline, bar, task, files, collection, on_duplicate)
    container.close()
    print_ingest_report(report, passed_over)
    if report.failed or not (report.count("added") + report.count("replaced") + report.count("unchanged")):
        raise typer.Exit(1)


def _ingest_with_progress(
    pipeline: IngestPipeline, bar: Progress, task: TaskID, files: list[Path], collection: str, policy: str
) -> IngestReport:
    def show(p: IngestProgress) -> None:
        bar.update(
            task, description=f"ingesting {p.current}"[:60], completed=p.files_done, total=p.files_total
        )

    duplicates = cast(DuplicatePolicy, policy)
    return pipeline.ingest(files, DEFAULT_TENANT, collection, on_progress=show, on_duplicate=duplicates)


def _check_collection_option(collection: str | None) -> None:
    """Refuse a collection name the catalog would never hold, before anything loads."""
    try:
        _ = collection is None or check_collection_name(collection)
    except InvalidName as exc:
        raise typer.BadParameter(str(exc), param_hint="--collection") from exc


def print_ingest_report(report: IngestReport, passed_over: list[tuple[Path, str]]) -> None:
    """Counts by outcome, then each failed file and each file passed over, with the reason."""
    console.print(
        f"added {report.count('added')}, replaced {report.count('replaced')}, "
        f"unchanged {report.count('unchanged')}, failed {len(report.failed)}"
        + (f", skipped {report.count('skipped')} (changed, kept as filed)" if report.count("skipped") else "")
        + (f", passed over {len(passed_over)}" if passed_over else "")
    )
    for outcome in report.failed:
        console.print(f"[red]failed[/red] {outcome.path}: {outcome.error}", markup=True, highlight=False)
    for path, why in passed_over:
        console.print(f"[yellow]passed over[/yellow] {path}: {why}", highlight=False)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question")],
    collection: Annotated[str | None, typer.Option(help="search only this collection")] = None,
    top_k: Annotated[int | None, typer.Option(help="passages to retrieve")] = None,
) -> None:
    """Answer a question from the ingested documents, streaming the answer, then list its sources.

    With VERITY_URL set (and VERITY_API_KEY when the server needs a key), asks that running server and
    loads no model here."""
    _check_collection_option(collection)
    url = server_url()
    if url is not None:
        try:
            ask_server(url, question, collection, top_k)
        except RemoteError as exc:
            err.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(1) from exc
        return
    settings = load_settings()
    check_models(settings)
    require_documents(settings, collection)
    container = Container(settings)
    scope = Scope(DEFAULT_TENANT, collection)
    sources: list[Passage] = []
    done: DoneEvent | None = None
    with quiet_native():
        with err.status("loading models"):
            pipeline = container.answers
        for event in pipeline.run(question, scope, top_k or container.settings.top_k):
            if isinstance(event, SourcesEvent):
                sources = event.passages
            elif isinstance(event, DeltaEvent):
                print_delta(event.text)
            elif isinstance(event, DoneEvent):
                done = event
    container.close()
    if done is not None:
        show_result(done_payload(done), [source_out(i, p).model_dump() for i, p in enumerate(sources, 1)])


@app.command()
def reindex() -> None:
    """Re-embed every chunk of the catalog with the configured embedding model (after changing
    VERITY_EMBEDDING_MODEL): no file is parsed again; searches see the new vectors all at once."""
    settings = load_settings()
    check_models(settings, answers=False)
    if not has_catalog(settings):
        raise PreflightError(f"nothing is ingested in {settings.data_dir.resolve()}: nothing to reindex", 1)
    container = Container(settings)
    with progress_bars() as bar, quiet_native():
        task = bar.add_task("loading the embedding model", total=None)
        _ = container.embedder_record

        def show(done: int, total: int) -> None:
            bar.update(task, description="re-embedding chunks", completed=done, total=total)

        chunks = container.reindex(show)
    record = container.embedder_record
    container.close()
    console.print(f"re-embedded {chunks} chunks with {record.describe()}")


def quiet_native() -> contextlib.AbstractContextManager[None]:
    """llama.cpp's own logs silenced, unless --verbose."""
    return contextlib.nullcontext() if VERBOSE.on else native_stderr_silenced()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind (default: VERITY_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: VERITY_PORT)")] = None,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    from app.http.main import create_app

    settings = load_settings()
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

    from app.logs import log_config

    logs = log_config(json_lines=settings.log_format == "json")
    uvicorn.run(
        create_app(container, banner), host=host or settings.host, port=port or settings.port, log_config=logs
    )


class _Verbosity:
    on = False


VERBOSE = _Verbosity()


# Named errors of the packages a command can meet, printed as one line with exit code 2.
CLI_ERRORS: tuple[type[Exception], ...] = (
    GenerationError, RetrievalError, SafetyError, StorageError, *EVAL_ERRORS)  # fmt: skip


def main() -> None:
    """Entry point of the `verity` command: settings and model errors are one line and exit code 2
    (the traceback only with --verbose); third-party progress bars and logs only with --verbose."""
    VERBOSE.on = "--verbose" in sys.argv[1:]
    if not VERBOSE.on:
        quiet_libraries()
    try:
        app()
    except PreflightError as exc:
        if VERBOSE.on:
            raise
        err.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except ValidationError as exc:  # settings read by a command that does not use load_settings
        if VERBOSE.on or exc.title != "Settings":
            raise
        err.print(f"[red]{settings_error_line(exc)}[/red]", highlight=False, soft_wrap=True)
        sys.exit(SETTINGS_EXIT)
    except CLI_ERRORS as exc:
        if VERBOSE.on:
            raise
        err.print(f"[red]{exc}[/red]  (--verbose shows the traceback)", highlight=False, soft_wrap=True)
        sys.exit(SETTINGS_EXIT)
