"""Checks the CLI makes before any model loads: settings, model locations, paths, and that there is
something to search. Each failure is one line a person can act on, with the exit code it deserves
(`SETTINGS_EXIT` for a setting to fix, `NOTHING_EXIT` for nothing to do)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from app.settings import Settings
from app.store_backends import has_catalog, open_catalog
from generation.errors import GenerationError
from generation.models import check_model_setting
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.pipeline import plan_paths
from retrieval.databases.postgres import redact
from retrieval.embedders import check_embedding_setting
from retrieval.errors import RetrievalError
from retrieval.types import DEFAULT_TENANT

SETTINGS_EXIT = 2
NOTHING_EXIT = 1


class PreflightError(Exception):
    """A check failed: `str(exc)` is the line to print, `exit_code` the status to leave with."""

    def __init__(self, message: str, exit_code: int = SETTINGS_EXIT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def settings_error_line(exc: ValidationError) -> str:
    """One line for invalid settings: each bad `VERITY_*` variable, what is wrong, and the value given."""
    parts = []
    for error in exc.errors():
        name = "_".join(str(p) for p in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        if name:
            parts.append(f"VERITY_{name}={error.get('input')!r}: {message}")
        else:
            parts.append(message)
    return "invalid settings: " + "; ".join(parts)


def load_settings() -> Settings:
    """The settings from the environment, or a `PreflightError` with one line saying what to fix."""
    try:
        return Settings()
    except ValidationError as exc:
        raise PreflightError(settings_error_line(exc)) from exc


def check_models(settings: Settings, answers: bool = True) -> None:
    """Check every model the command will load can be found offline (nothing is loaded): the embedder,
    and for answers the LLM, the safety encoder and the reranker when configured."""
    checks: list[tuple[str, str, object]] = [
        ("VERITY_EMBEDDING_MODEL", settings.embedding_model, check_embedding_setting)
    ]
    if answers:
        checks.append(("VERITY_LLM_MODEL", settings.llm_model, check_model_setting))
        if settings.safety == "on" and settings.safety_encoder:
            checks.append(("VERITY_SAFETY_ENCODER", settings.safety_encoder, check_model_setting))
        if settings.reranker_model:
            checks.append(("VERITY_RERANKER_MODEL", settings.reranker_model, check_embedding_setting))
    for variable, value, check in checks:
        try:
            check(value)  # type: ignore[operator]
        except (GenerationError, RetrievalError) as exc:
            raise PreflightError(f"{variable}={value!r}: {exc}") from exc


def files_to_ingest(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files an ingest will read and what it passes over (with why); a `PreflightError` naming what is
    missing when a path does not exist, or saying so when nothing readable is left."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        names = ", ".join(str(p) for p in missing)
        raise PreflightError(f"no such file or folder: {names}", NOTHING_EXIT)
    files, skipped = plan_paths(paths)
    unsupported = [(f, f"unsupported type {f.suffix or '(no suffix)'}") for f in files if not _readable(f)]
    if len(unsupported) == len(files):
        files, skipped = [], skipped + unsupported
    if not files:
        reasons = "; ".join(f"{p} ({why})" for p, why in skipped[:10])
        more = f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""
        detail = f": skipped {reasons}{more}" if skipped else ": the folders are empty"
        raise PreflightError(f"nothing to ingest in {', '.join(map(str, paths))}{detail}", NOTHING_EXIT)
    return files, skipped


def require_documents(settings: Settings, collection: str | None) -> None:
    """A `PreflightError` naming the data directory read when it holds no documents (in `collection`)."""
    url = settings.database_url
    data_dir = f"{settings.data_dir.resolve()} (VERITY_DATA_DIR)"
    where = f"{redact(url)} (VERITY_DATABASE_URL)" if url else data_dir
    if not has_catalog(settings):
        raise PreflightError(f"nothing is ingested in {where}: run `verity ingest PATH` first", NOTHING_EXIT)
    catalog = open_catalog(settings)
    try:
        collections = {c.name: c.documents for c in catalog.list_collections(DEFAULT_TENANT)}
    finally:
        catalog.close()
    if not collections:
        raise PreflightError(f"nothing is ingested in {where}: run `verity ingest PATH` first", NOTHING_EXIT)
    if collection is not None and collection not in collections:
        known = ", ".join(sorted(collections))
        raise PreflightError(
            f"no collection named {collection!r} in {where}; the collections are: {known}", NOTHING_EXIT
        )


def _readable(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES
