"""`verity eval export-feedback`: people's ratings of answers as an evaluation dataset (JSON lines)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from app.cli_console import console
from app.settings import Settings
from app.store_backends import open_feedback_store


def export_feedback(
    out: Annotated[Path, typer.Option(help="the JSON-lines file to write")],
    tenant: Annotated[str | None, typer.Option(help="only this tenant's feedback (default: all)")] = None,
    rating: Annotated[str | None, typer.Option(help="only 'up' or only 'down' ratings")] = None,
) -> None:
    """Write each rated answer as {question, reference?, contexts, answer, rating, comment}, one per line."""
    if rating not in (None, "up", "down"):
        raise typer.BadParameter("must be up or down", param_hint="--rating")
    store = open_feedback_store(Settings())
    try:
        rows = [f.as_eval_row() for f in store.iter(tenant) if rating is None or f.rating == rating]
    finally:
        store.close()
    _write_lines(out, [json.dumps(row, ensure_ascii=False) for row in rows])
    console.print(f"wrote {len(rows)} rated answers to {out}")


def _write_lines(path: Path, lines: list[str]) -> None:
    """Write the file atomically: a temporary file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
