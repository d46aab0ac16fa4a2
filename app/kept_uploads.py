"""Where uploaded files live: an incoming folder per request until ingested, then one folder per collection.

The job hooks here run on the ingest worker: they keep each ingested upload under its collection and
remove the incoming folder once its job is over. They take only paths, so a job resumed after a crash
gets the same treatment as one that ran straight through.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

from ingest.jobs import Job, JobFile, JobHooks
from ingest.pipeline import FileOutcome


def collection_dir(uploads_dir: Path, tenant: str, collection: str) -> Path:
    """Where a collection's ingested uploads are kept."""
    return uploads_dir / tenant / collection


def incoming_dir(uploads_dir: Path) -> Path:
    """A fresh folder for files not yet ingested."""
    return uploads_dir / ".incoming" / uuid.uuid4().hex


def keep_if_ingested(
    uploads_dir: Path, tenant: str, collection: str, file: JobFile, outcome: FileOutcome
) -> None:
    """Move an ingested upload to where uploads are kept; anything else stays to be removed."""
    final = collection_dir(uploads_dir, tenant, collection) / file.name
    kept = outcome.status in ("added", "replaced") or (outcome.status == "unchanged" and not final.exists())
    if kept and file.path.is_file():
        final.parent.mkdir(parents=True, exist_ok=True)
        file.path.replace(final)


def remove(folder: Path) -> None:
    """Remove a folder of uploads and everything in it."""
    shutil.rmtree(folder, ignore_errors=True)


def job_hooks(uploads_dir: Path) -> JobHooks:
    """Hooks that keep a job's ingested uploads and remove its incoming folder when it ends."""
    incoming = uploads_dir / ".incoming"

    def after_file(job: Job, file: JobFile, outcome: FileOutcome) -> None:
        keep_if_ingested(uploads_dir, job.tenant, job.collection, file, outcome)

    def after_job(job: Job, files: Sequence[JobFile]) -> None:
        for folder in {Path(path).parent for path in job.paths}:
            if folder.parent == incoming:
                remove(folder)

    return JobHooks(after_file, after_job)
