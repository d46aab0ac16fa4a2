"""`verity safety`: training the safety heads and scanning ingested chunks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli_console import console, progress_bars
from app.container import Container, offline_environment
from app.settings import Settings

if TYPE_CHECKING:
    pass

Stage = Callable[[str, int, int], None]

safety_app = typer.Typer(help="Safety classifiers: training.", no_args_is_help=True)


@safety_app.command("train")
def safety_train(
    data: Annotated[
        Path, typer.Option(help="the shared data folder (deepset, XSTest, AdvBench, BIPIA, SQuAD)")
    ],
    out_dir: Annotated[Path, typer.Option(help="where the heads are written")] = Path(
        "generation/safety/weights"
    ),
    report: Annotated[Path, typer.Option(help="where the cross-validated report is written")] = Path(
        "results/safety_train.json"
    ),
) -> None:
    """Train the injection, harm and context heads, and the injection head's second stage on
    VERITY_SAFETY_ENCODER (none when it is empty); print and save cross-validated figures."""
    from eval.training.train_all import SharedSets, train_all

    offline_environment()
    container = Container(Settings())
    encoder = container.safety_encoder if container.settings.safety_encoder else None
    with console.status("training") as status:
        result = train_all(SharedSets(data), container.embedder, out_dir, lambda s: status.update(s), encoder)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2) + "\n")
    console.print_json(data=result)


@safety_app.command("scan")
def safety_scan() -> None:
    """Scan every ingested chunk for planted instructions and store the verdicts (ingest does this for new
    chunks; run it after upgrading or retraining the context head)."""
    from generation.safety.scanner import scan_chunks

    offline_environment()
    container = Container(Settings())
    texts = [c.text for c in container.catalog.iter_chunks()]
    with progress_bars() as bar:
        task = bar.add_task("scanning chunks", total=len(texts))
        scanner = container.safety_scanner
        summary = scan_chunks(scanner, texts, lambda done, _: bar.update(task, completed=done))
    console.print(f"{summary.chunks} chunks scanned; {summary.flagged} hold planted instructions")
    container.close()
