"""`verity eval train-answerability` and `verity eval answerability`: Verity's own answerability model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli_console import console, progress_bars, stage_reporter
from app.container import FAISS_BACKEND, Container, offline_environment
from app.settings import Settings

SQUAD_HELP = "a SQuAD 2.0 JSON file (its questions and paragraphs give the pairs)"


def register(app: typer.Typer) -> None:
    """Add the answerability commands to `verity eval`."""
    app.command("train-answerability")(train_answerability)
    app.command("answerability")(measure_answerability)


def _encoder_location() -> str:
    from retrieval.embedders import PACKAGED_MINILM, resolve_model_location

    return resolve_model_location(PACKAGED_MINILM)


def train_answerability(
    squad: Annotated[Path, typer.Option(help=SQUAD_HELP)],
    out_dir: Annotated[
        Path | None, typer.Option(help="model folder to write (default: the answerability_model setting)")
    ] = None,
    pairs: Annotated[int, typer.Option(help="at most this many training pairs (one epoch)")] = 480,
    batch_size: Annotated[int, typer.Option(help="pairs per step")] = 16,
    epochs: Annotated[int, typer.Option(help="passes over the pairs")] = 1,
    threads: Annotated[int, typer.Option(help="torch CPU threads")] = 2,
    calibration: Annotated[
        Path | None,
        typer.Option(
            help="a `verity eval answerability` report: its fitted abstention model ships with the weights"
        ),
    ] = None,
    evidence: Annotated[str, typer.Option(help="which of the report's evidence rows to ship")] = "trained",
) -> None:
    """Fine-tune the packaged MiniLM as an answerability cross-encoder on every article of the file."""
    import torch

    from eval.training.answerability import build_pairs, initial_model, load_items, pair_counts, train
    from generation.answerability import CALIBRATION, write_checksums

    offline_environment()
    torch.set_num_threads(threads)
    folder = out_dir or Settings().answerability_model_dir
    fitted = _fitted_model(calibration, evidence) if calibration is not None else None
    chosen = build_pairs(load_items(squad), pairs)
    model = initial_model(_encoder_location())
    with progress_bars() as bar:
        stats = train(model, chosen, batch_size, progress=stage_reporter(bar), epochs=epochs)
    model.save(folder)
    if fitted is not None:
        (folder / CALIBRATION).write_text(json.dumps(fitted) + "\n")
        write_checksums(folder)
    console.print_json(data={"folder": str(folder), "pair_kinds": pair_counts(chosen), **stats})


def _fitted_model(report: Path, evidence: str) -> dict[str, object]:
    """The abstention model fitted on every question for one evidence row of a report."""
    figures = json.loads(report.read_text())["figures"]
    if evidence not in figures:
        raise typer.BadParameter(f"{report}: no evidence row {evidence!r} (known: {', '.join(figures)})")
    model: dict[str, object] = figures[evidence]["fitted_on_all"]["model"]
    return model


def measure_answerability(
    squad: Annotated[Path, typer.Option(help=SQUAD_HELP)],
    run: Annotated[Path, typer.Option(help="an always-answering `verity eval qa` run on that file (JSON)")],
    out: Annotated[Path, typer.Option(help="where to write the JSON report (a .md twin beside it)")],
    folds: Annotated[int, typer.Option(help="folds by article")] = 3,
    pairs: Annotated[int, typer.Option(help="at most this many training pairs per fold")] = 480,
    batch_size: Annotated[int, typer.Option(help="pairs per step")] = 16,
    epochs: Annotated[int, typer.Option(help="passes over each fold's pairs")] = 1,
    threads: Annotated[int, typer.Option(help="torch CPU threads")] = 2,
    shown_cache: Annotated[
        Path | None, typer.Option(help="JSON of the passages shown per question (written once, then reused)")
    ] = None,
    keep_models: Annotated[
        Path | None, typer.Option(help="save each fold's model here as fold-N (for `eval rerank-study`)")
    ] = None,
) -> None:
    """Cross-validate the trained model by article on the run's questions, beside the 1.5B check."""
    import torch

    from eval.training.answerability import (
        cross_validated_scores,
        load_items,
        markdown_report,
        measure,
        shown_passages,
    )

    offline_environment()
    torch.set_num_threads(threads)
    recorded = json.loads(run.read_text())
    records = recorded["per_question"]
    ids = [str(r["id"]) for r in records]
    with progress_bars() as bar:
        show = stage_reporter(bar)
        if shown_cache is not None and shown_cache.is_file():
            shown = json.loads(shown_cache.read_text())
        else:
            container = Container(Settings())
            shown = shown_passages(
                squad, ids, container.embedder, FAISS_BACKEND, int(recorded["top_k"]), show
            )
            if shown_cache is not None:
                shown_cache.parent.mkdir(parents=True, exist_ok=True)
                shown_cache.write_text(json.dumps(shown))
        articles = {str(r["id"]): str(r["article"]) for r in records}
        scores, runs = cross_validated_scores(
            load_items(squad),
            shown,
            articles,
            _encoder_location(),
            folds,
            pairs,
            batch_size,
            show,
            epochs,
            keep_models,
        )
    report = {
        "file": str(squad),
        "run": str(run),
        "questions": len(scores),
        "seed": recorded["seed"],
        "top_k": recorded["top_k"],
        "folds": folds,
        "pairs_per_fold": pairs,
        "epochs": epochs,
        "figures": measure(records, scores),
        "folds_detail": runs,
        "trained_scores": scores,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown_report(report))
    console.print(markdown_report(report))
