"""Where uploaded files live, on paths made only of server-made keys (`app.safe_paths`).

    uploads_dir/incoming/<random id>/<n><.suffix>                  files not yet ingested
    uploads_dir/<tenant key>/<collection key>/<document id><.suffix>   ingested uploads, kept

A tenant or collection key is a digest of the name; the names themselves (and the file's own name) are
data in the catalog and job records, never path components. Every path is resolved and checked to lie
under `uploads_dir` before it is written or removed.

Uploads kept by earlier versions under `uploads_dir/<tenant>/<collection>/<file name>` are moved to
this layout once, at start-up (`migrate_legacy`); a legacy path that resolves outside `uploads_dir`
is left alone. Jobs recorded with files under the old `uploads_dir/.incoming` still resume, and their
folder is removed when they end.

The job hooks here run on the ingest worker: they keep each ingested upload and remove the incoming
folder once its job is over. They take only paths, so a job resumed after a crash gets the same
treatment as one that ran straight through.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath

from app.safe_paths import UnsafePath, check_inside, inside, name_key, safe_suffix
from ingest.jobs import Job, JobFile, JobHooks
from ingest.pipeline import FileOutcome
from retrieval.types import Document

INCOMING = "incoming"
LEGACY_INCOMING = ".incoming"
log = logging.getLogger(__name__)


def collection_dir(uploads_dir: Path, tenant: str, collection: str) -> Path:
    """Where a collection's ingested uploads are kept."""
    return inside(uploads_dir, name_key(tenant), name_key(collection))


def kept_path(uploads_dir: Path, document: Document) -> Path:
    """Where a document's upload is kept: under its id, with its name's suffix."""
    file_key = document.id + safe_suffix(PurePath(document.source_path).name)
    return inside(uploads_dir, name_key(document.tenant), name_key(document.collection), file_key)


def incoming_dir(uploads_dir: Path) -> Path:
    """A fresh folder for files not yet ingested."""
    return inside(uploads_dir, INCOMING, uuid.uuid4().hex)


def incoming_path(folder: Path, index: int, filename: str) -> Path:
    """Where the `index`-th file of an upload waits: a number and the name's suffix, not the name."""
    return inside(folder, f"{index}{safe_suffix(filename)}")


def keep_if_ingested(uploads_dir: Path, file: JobFile, outcome: FileOutcome) -> None:
    """Move an ingested upload to where uploads are kept; anything else stays to be removed."""
    if outcome.document is None:
        return
    final = kept_path(uploads_dir, outcome.document)
    kept = outcome.status in ("added", "replaced") or (outcome.status == "unchanged" and not final.exists())
    if kept and file.path.is_file():
        final.parent.mkdir(parents=True, exist_ok=True)
        check_inside(uploads_dir, file.path).replace(final)


def remove(uploads_dir: Path, folder: Path) -> None:
    """Remove a folder of uploads and everything in it; refuses anything not under `uploads_dir`."""
    shutil.rmtree(check_inside(uploads_dir, folder), ignore_errors=True)


def remove_kept(uploads_dir: Path, documents: Iterable[Document]) -> None:
    """Remove the kept uploads of deleted documents."""
    for document in documents:
        kept_path(uploads_dir, document).unlink(missing_ok=True)


def job_hooks(uploads_dir: Path) -> JobHooks:
    """Hooks that keep a job's ingested uploads and remove its incoming folder when it ends."""
    roots = {(uploads_dir / INCOMING).resolve(), (uploads_dir / LEGACY_INCOMING).resolve()}

    def after_file(job: Job, file: JobFile, outcome: FileOutcome) -> None:
        keep_if_ingested(uploads_dir, file, outcome)

    def after_job(job: Job, files: Sequence[JobFile]) -> None:
        for folder in {Path(path).resolve().parent for path in job.paths}:
            if folder.parent in roots:
                remove(uploads_dir, folder)

    return JobHooks(after_file, after_job)


def _legacy_path(uploads_dir: Path, document: Document) -> Path | None:
    """Where an earlier version kept this document's upload, if that path is a file under the root."""
    try:
        path = uploads_dir / document.tenant / document.collection / PurePath(document.source_path).name
        if path.is_symlink() or not path.is_file():
            return None
        return check_inside(uploads_dir, path)
    except (OSError, ValueError):  # NUL bytes, names too long, paths outside the root
        return None


def migrate_legacy(uploads_dir: Path, documents: Iterable[Document]) -> int:
    """Move uploads kept under names (the old layout) to paths of ids; returns how many moved."""
    if not uploads_dir.is_dir():
        return 0
    moved = 0
    for document in documents:
        legacy = _legacy_path(uploads_dir, document)
        if legacy is None:
            continue
        try:
            final = kept_path(uploads_dir, document)
        except UnsafePath:
            continue
        final.parent.mkdir(parents=True, exist_ok=True)
        legacy.replace(final)
        moved += 1
        for folder in (legacy.parent, legacy.parent.parent):
            if folder.is_relative_to(uploads_dir.resolve()) and folder != uploads_dir.resolve():
                with contextlib.suppress(OSError):
                    os.rmdir(folder)  # only if now empty
    if moved:
        log.info("moved %d kept uploads to the id-based layout", moved)
    return moved
