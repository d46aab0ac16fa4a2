"""`verity eval`: the offline evaluation runs (retrieval, ingestion, QA, abstention, safety)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.table import Table

from app.cli_console import console, progress_bars, stage_reporter
from app.container import FAISS_BACKEND, Container, offline_environment, store_backend
from app.settings import Settings
from retrieval.embedders import Embedder

if TYPE_CHECKING:
    from eval.retrieval import RetrievalSetup

Stage = Callable[[str, int, int], None]

eval_app = typer.Typer(help="Offline evaluation runs.", no_args_is_help=True)


@eval_app.command("retrieval")
def eval_retrieval(
    out: Annotated[Path, typer.Option(help="where to write the JSON results")],
    beir: Annotated[
        Path | None, typer.Option(help="a BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/)")
    ] = None,
    squad: Annotated[
        Path | None, typer.Option(help="a SQuAD 2.0 JSON file: paragraph recall@1/5/20 of its questions")
    ] = None,
    split: Annotated[str, typer.Option(help="qrels split to evaluate")] = "test",
    plot: Annotated[Path | None, typer.Option(help="also draw a PNG bar chart here")] = None,
    store: Annotated[
        str | None, typer.Option(help="vector store: faiss, qdrant or pgvector (default: the setting)")
    ] = None,
    faiss_index: Annotated[
        str | None, typer.Option(help="FAISS index kind: flat, hnsw or ivfpq (default: the setting)")
    ] = None,
    fusion: Annotated[str | None, typer.Option(help="rrf or convex (default: the setting)")] = None,
    bm25_weight: Annotated[
        float | None, typer.Option(help="BM25's share in fusion (default: setting)")
    ] = None,
    candidates: Annotated[
        int | None, typer.Option(help="candidates per retriever (default: setting)")
    ] = None,
    rerank_depth: Annotated[int | None, typer.Option(help="passages reranked (default: setting)")] = None,
    chunk_tokens: Annotated[
        int | None, typer.Option(help="chunk documents with the product chunker (default: one chunk each)")
    ] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="chunk overlap (default: the setting)")] = None,
    embedding_cache: Annotated[
        Path | None, typer.Option(help="SQLite file caching vectors across runs (default: none)")
    ] = None,
    corpus_sample: Annotated[
        int | None, typer.Option(help="BEIR: keep the judged documents and this many others (seed 0)")
    ] = None,
) -> None:
    """nDCG@10 and recall@100 on a BEIR dataset, or paragraph recall on SQuAD: BM25, dense, hybrid."""
    from eval.report import SCIFACT_REFERENCES, plot_retrieval

    if (beir is None) == (squad is None):
        raise typer.BadParameter("give exactly one of --beir and --squad")
    offline_environment()
    settings = Settings()
    updates = {"fusion": fusion, "fusion_bm25_weight": bm25_weight, "candidates": candidates}
    updates |= {"rerank_depth": rerank_depth, "chunk_overlap": chunk_overlap}
    updates |= {"vector_store": store, "faiss_index": faiss_index}
    if store == "qdrant" and settings.qdrant_url is None and settings.qdrant_path is None:
        updates["qdrant_path"] = tempfile.mkdtemp(prefix="verity-eval-qdrant-")
    settings = Settings.model_validate(
        settings.model_dump() | {k: v for k, v in updates.items() if v is not None}
    )
    container = Container(settings)
    setup = _retrieval_setup(settings, chunk_tokens)
    embedder = _eval_embedder(container, embedding_cache)
    with progress_bars() as bar:
        show = stage_reporter(bar)
        if beir is not None:
            result = _beir_run(beir, split, embedder, container, setup, show, corpus_sample)
        else:
            assert squad is not None
            result = _squad_run(squad, embedder, container, setup, show)
    result["store"] = {"vector_store": settings.vector_store, "faiss_index": settings.faiss_index}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    _print_retrieval_table(result)
    if plot is not None:
        plot_retrieval(result, plot, SCIFACT_REFERENCES if "scifact" in str(result["dataset"]) else {})
        console.print(f"plot written to {plot}")


def _retrieval_setup(settings: Settings, chunk_tokens: int | None) -> RetrievalSetup:
    from app.container import fusion_of
    from eval.retrieval import RetrievalSetup

    overlap = settings.chunk_overlap if chunk_tokens is not None else 0
    return RetrievalSetup(
        settings.candidates, settings.rerank_depth, fusion_of(settings), chunk_tokens, overlap
    )


def _eval_embedder(container: Container, cache: Path | None) -> Embedder:
    if cache is None:
        return container.embedder
    from retrieval.embedding_cache import CachedEmbedder, EmbeddingCache

    return CachedEmbedder(container.embedder, EmbeddingCache(cache))


def _beir_run(
    beir: Path,
    split: str,
    embedder: Embedder,
    container: Container,
    setup: RetrievalSetup,
    show: Stage,
    corpus_sample: int | None,
) -> dict[str, object]:
    from eval.datasets import load_beir, with_sampled_corpus
    from eval.retrieval import evaluate_beir

    dataset = load_beir(beir, split)
    if corpus_sample is not None:
        dataset = with_sampled_corpus(dataset, corpus_sample)
    backend = store_backend(container.settings)
    return evaluate_beir(dataset, embedder, backend, container.reranker, show, setup)


def _squad_run(
    squad: Path, embedder: Embedder, container: Container, setup: RetrievalSetup, show: Stage
) -> dict[str, object]:
    from eval.qa import load_squad
    from eval.retrieval import evaluate_squad_retrieval

    paragraphs, questions = load_squad(squad)
    asked = [(q.question, q.paragraph_id) for q in questions if q.answerable]
    backend = store_backend(container.settings)
    return evaluate_squad_retrieval(paragraphs, asked, embedder, backend, setup, show, squad.stem)


def _print_retrieval_table(result: dict[str, object]) -> None:
    results = cast(dict[str, dict[str, float]], result["results"])
    metrics = list(next(iter(results.values())))
    table = Table("pipeline", *metrics, title=f"{result['dataset']}: retrieval")
    for name, scores in results.items():
        table.add_row(name, *(f"{scores[m]:.4f}" for m in metrics))
    console.print(table)


@eval_app.command("ingest")
def eval_ingest(
    sources: Annotated[Path, typer.Option(help="a folder of documents to load")],
    reference: Annotated[Path, typer.Option(help="a folder of reference Markdown (docling's naming)")],
    out: Annotated[Path, typer.Option(help="where to write the JSON results")],
    plot: Annotated[Path | None, typer.Option(help="also draw a PNG bar chart here")] = None,
) -> None:
    """Token recall of the text Verity extracts from each file against a reference Markdown conversion."""
    from eval.ingest import evaluate_ingest
    from eval.report import plot_ingest

    offline_environment()
    with progress_bars() as bar:
        task = bar.add_task("loading", total=None)

        def show(name: str, done: int, total: int) -> None:
            description = f"loading {name}"[:60] if name else "loaded"
            bar.update(task, description=description, completed=done, total=total)

        result = evaluate_ingest(sources, reference, progress=show)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    table = Table("file", "token recall", "seconds", "error", title=f"{sources.name}: ingestion")
    for name, score in result["files"].items():
        table.add_row(name, f"{score['recall']:.4f}", f"{score['seconds']:.2f}", score["error"] or "")
    console.print(table)
    console.print(f"mean token recall {result['mean_token_recall']:.4f} over {len(result['files'])} files")
    if plot is not None:
        plot_ingest(result, plot)
        console.print(f"plot written to {plot}")


@eval_app.command("qa")
def eval_qa(
    squad: Annotated[Path, typer.Option(help="a SQuAD 2.0 JSON file: its paragraphs become the corpus")],
    out: Annotated[Path, typer.Option(help="where to write the JSON results")],
    limit: Annotated[int | None, typer.Option(help="ask this many questions, drawn at random")] = None,
    seed: Annotated[int, typer.Option(help="seed of the draw")] = 0,
    held_out: Annotated[
        bool, typer.Option(help="ask only questions of articles not used to calibrate abstention")
    ] = False,
    cache: Annotated[
        Path | None,
        typer.Option(help="JSONL of per-question records: appended as questions are answered, resumed"),
    ] = None,
) -> None:
    """End-to-end answers, abstention and citations on SQuAD 2.0, with the configured models."""
    from eval.qa import evaluate_qa

    offline_environment()
    container = Container(Settings())
    with progress_bars() as bar:
        show = stage_reporter(bar)
        result = evaluate_qa(
            squad,
            container.embedder,
            container.engine,
            FAISS_BACKEND,
            limit,
            seed,
            container.settings.top_k,
            container.generation_params,
            show,
            container.abstainer,
            held_out,
            cache,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print_json(data=result)


@eval_app.command("calibrate-abstention")
def eval_calibrate_abstention(
    squad: Annotated[Path, typer.Option(help="a SQuAD 2.0 JSON file: its paragraphs become the corpus")],
    out: Annotated[
        Path, typer.Option(help="where to write the calibration report (its 'model' is loadable)")
    ],
    cache: Annotated[Path, typer.Option(help="JSONL of evidence rows, resumed on a rerun")] = Path(
        ".cache/abstention_evidence.jsonl"
    ),
    limit: Annotated[
        int | None, typer.Option(help="calibrate on this many questions, drawn at random")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the draw")] = 0,
    held_out: Annotated[int, typer.Option(help="held-out questions to score the fitted decisions on")] = 0,
    support: Annotated[bool, typer.Option(help="also ask the engine's yes/no answerability check")] = False,
    features: Annotated[
        str | None, typer.Option(help="comma-separated features to fit (default: support, else retrieval)")
    ] = None,
) -> None:
    """Fit the abstention model and threshold on the calibration articles of a SQuAD 2.0 file."""
    from eval.calibration import (
        collect_evidence,
        cross_validate_by_article,
        fit_abstention,
        score_decisions,
    )
    from generation.abstention import AbstentionModel

    offline_environment()
    container = Container(Settings())
    args = (container.embedder, container.engine, FAISS_BACKEND, cache)
    with progress_bars() as bar:
        show = stage_reporter(bar)
        rows = collect_evidence(squad, *args, limit, seed, support, container.settings.top_k, show)
        held = (
            collect_evidence(squad, *args, held_out, seed, support, container.settings.top_k, show, True)
            if held_out
            else []
        )
    chosen = features.split(",") if features else ["support"] if support else ["coverage", "dense", "bm25"]
    result: dict[str, object] = {"file": str(squad), "seed": seed, **fit_abstention(rows, chosen)}
    fitted = cast(dict[str, object], result["model"])
    model = AbstentionModel(
        cast(dict[str, float], fitted["weights"]),
        float(cast(float, fitted["intercept"])),
        float(cast(float, fitted["threshold"])),
    )
    result["cross_validated_by_article"] = cross_validate_by_article(rows, chosen)
    if held:
        result["held_out"] = score_decisions(held, model)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print_json(data=result)


@eval_app.command("safety")
def eval_safety(
    injection: Annotated[Path, typer.Option(help="deepset-format JSONL {text,label}")],
    xstest: Annotated[Path, typer.Option(help="XSTest prompts CSV")],
    advbench: Annotated[Path, typer.Option(help="AdvBench harmful_behaviors CSV")],
    bipia_attacks: Annotated[Path, typer.Option(help="BIPIA attacks JSON {category: [attack]}")],
    bipia_contexts: Annotated[Path, typer.Option(help="BIPIA contexts JSONL (email or code)")],
    out: Annotated[Path, typer.Option(help="where to write the JSON results")],
) -> None:
    """Injection, harmful-request and planted-instruction detection rates of the shipped filters."""
    from eval.safety import evaluate_safety

    offline_environment()
    container = Container(Settings())
    files = {
        "injection": injection,
        "xstest": xstest,
        "advbench": advbench,
        "bipia_attacks": bipia_attacks,
        "bipia_contexts": bipia_contexts,
    }
    with console.status("evaluating") as status:
        result = evaluate_safety(
            container.safety_input_filter, container.safety_context_filter, files, lambda s: status.update(s)
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print_json(data=result)


@eval_app.command("rescore-qa")
def eval_rescore_qa(
    run: Annotated[Path, typer.Argument(help="an `eval qa` result made with an always-answering abstainer")],
    out: Annotated[Path, typer.Option(help="where to write the re-scored figures")],
    features: Annotated[str, typer.Option(help="comma-separated evidence features to fit")] = "support",
) -> None:
    """Decide each question of a QA run by a model fitted on the other articles, and score the result."""
    from eval.calibration import cross_validate_qa

    try:
        records = json.loads(run.read_text())["per_question"]
    except (OSError, ValueError, KeyError) as exc:
        raise typer.BadParameter(f"{run}: not an `eval qa` result ({exc})") from exc
    result = {"run": str(run), **cross_validate_qa(records, features.split(","))}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print_json(data=result)


@eval_app.command("plot-qa")
def eval_plot_qa(
    run: Annotated[Path, typer.Argument(help="an `eval qa` result (shown as it ran)")],
    rescored: Annotated[list[Path], typer.Argument(help="`eval rescore-qa` reports of that run")],
    out: Annotated[Path, typer.Option(help="the PNG to write")],
) -> None:
    """Plot a QA run and its cross-validated re-scorings against the targets."""
    from eval.calibration import plot_qa

    runs: dict[str, dict[str, object]] = {"as run": json.loads(run.read_text())}
    for path in rescored:
        report = json.loads(path.read_text())
        runs["abstainer on\n" + "\n".join(report["features"])] = report["cross_validated_by_article"]
    plot_qa(runs, out)
    console.print(f"plot written to {out}")


@eval_app.command("plot-abstention")
def eval_plot_abstention(
    results: Annotated[list[Path], typer.Argument(help="calibration reports (calibrate-abstention --out)")],
    out: Annotated[Path, typer.Option(help="the PNG to write")],
) -> None:
    """Plot the out-of-article decision rates of one or more abstention calibrations."""
    from eval.calibration import plot_abstention

    loaded = {
        path.stem.removeprefix("squad_half_a_qa_abstention").strip("_") or "engine check": json.loads(
            path.read_text()
        )
        for path in results
    }
    plot_abstention(loaded, out)
    console.print(f"plot written to {out}")


@eval_app.command("grounding")
def eval_grounding(
    squad: Annotated[Path, typer.Option(help="a SQuAD 2.0 JSON file")],
    out: Annotated[Path, typer.Option(help="where to write the JSON results")],
    seed: Annotated[int, typer.Option(help="seed choosing each swapped answer")] = 0,
) -> None:
    """The citation check on right and swapped (wrong number or name) answers: no model, a few seconds."""
    from eval.grounding import CHECKS, CLAIMS, evaluate_grounding

    result = evaluate_grounding(squad, seed)
    out.write_text(json.dumps(result, indent=2) + "\n")
    rates = cast(dict[str, dict[str, object]], result["rates"])
    table = Table("claim", "check", "n", "right supported", "wrong supported", title="supported rate")
    for claim in CLAIMS:
        for check in CHECKS:
            row = rates[f"{claim}/{check}/all"]
            rates_shown = (str(row["right_supported"]), str(row["wrong_supported"]))
            table.add_row(claim, check, str(row["n"]), *rates_shown)
    console.print(table)
