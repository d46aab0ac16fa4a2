"""`verity eval`: the offline evaluation runs (retrieval, ingestion, QA, abstention, safety)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.table import Table

from app.cli_answerability import register as register_answerability
from app.cli_console import console, progress_bars, stage_reporter
from app.container import FAISS_BACKEND, Container, offline_environment, store_backend
from app.settings import Settings
from eval.errors import EvalError
from eval.ragas_answers import AnswerSetup
from retrieval.embedders import Embedder
from retrieval.search import SearchMode

if TYPE_CHECKING:
    from eval.ragas_datasets import RagasDataset, RagasSample
    from eval.ragas_judge import LocalJudge
    from eval.ragas_run import RunConfig
    from eval.ragas_scoring import Scorers
    from eval.retrieval import RetrievalSetup

Stage = Callable[[str, int, int], None]

# Evaluation and training errors (bad data sets, configs, a judge that gives no valid answer) are met only
# through `verity eval` and `verity safety train`: no endpoint runs evaluation code, and app/http may not
# import eval (DESIGN.md's one-way imports), so the CLI is where they are mapped: one line, exit code 2.
EVAL_ERRORS: tuple[type[Exception], ...] = (EvalError,)

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
    articles: Annotated[
        str | None,
        typer.Option(help="SQuAD: ask only the questions of these articles (comma-separated titles)"),
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
            result = _squad_run(squad, embedder, container, setup, show, articles)
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
    squad: Path,
    embedder: Embedder,
    container: Container,
    setup: RetrievalSetup,
    show: Stage,
    articles: str | None,
) -> dict[str, object]:
    from eval.qa import load_squad
    from eval.retrieval import evaluate_squad_retrieval

    paragraphs, questions = load_squad(squad)
    asked = [(q.question, q.paragraph_id) for q in questions if q.answerable]
    if articles is not None:
        wanted = {a.strip() for a in articles.split(",") if a.strip()}
        asked = [(q, p) for q, p in asked if p.rpartition("__p")[0] in wanted]
        if not asked:
            raise typer.BadParameter(f"no answerable question of the articles {sorted(wanted)}")
    backend = store_backend(container.settings)
    result = evaluate_squad_retrieval(
        paragraphs, asked, embedder, backend, setup, show, squad.stem, container.reranker
    )
    return result | ({"articles": sorted(wanted)} if articles is not None else {})


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
            container.compressor,
        )
    result["compression_neighbours"] = _compression_neighbours(container)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print_json(data=result)


def _compression_neighbours(container: Container) -> int | None:
    """The neighbours each kept sentence brings along, as configured; None when compression is off."""
    return container.settings.compression_neighbours if container.compressor is not None else None


@eval_app.command("conversations")
def eval_conversations(
    squad: Annotated[Path, typer.Option(help="a SQuAD 2.0 JSON file: its paragraphs become the corpus")],
    followups: Annotated[Path, typer.Option(help="JSONL of conversations over that file's paragraphs")],
    out: Annotated[Path, typer.Option(help="where to write the JSON results")],
    cache: Annotated[
        Path | None,
        typer.Option(help="JSONL of per-turn records: appended as turns are replayed, resumed"),
    ] = None,
) -> None:
    """Follow-up recall@5 searched as rewritten, as typed and as the standalone original; abstention on
    unanswerable follow-ups."""
    from eval.conversations import evaluate_conversations

    offline_environment()
    container = Container(Settings())
    with progress_bars() as bar:
        result = evaluate_conversations(
            squad,
            followups,
            container.embedder,
            container.engine,
            FAISS_BACKEND,
            container.settings.top_k,
            container.abstainer,
            stage_reporter(bar),
            cache,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    recall = cast(dict[str, dict[str, float]], result["followups"])["recall@5"]
    table = Table("searched as", "recall@5", title=f"{followups.name}: follow-ups")
    for kind, value in recall.items():
        table.add_row(kind, f"{value:.4f}")
    console.print(table)
    console.print_json(data={k: result[k] for k in ("followups", "unanswerable")})


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


@eval_app.command("compare-qa")
def eval_compare_qa(
    base: Annotated[Path, typer.Argument(help="an `eval qa` result: the figures to hold")],
    new: Annotated[Path, typer.Argument(help="an `eval qa` result over the same questions")],
    out: Annotated[Path, typer.Option(help="where to write the comparison (a .md twin beside it)")],
) -> None:
    """Each figure of two QA runs with its interval, and the paired difference with its interval."""
    from eval.qa_compare import compare_runs, markdown_table

    runs = []
    for path in (base, new):
        try:
            runs.append(json.loads(path.read_text())["per_question"])
        except (OSError, ValueError, KeyError) as exc:
            raise typer.BadParameter(f"{path}: not an `eval qa` result ({exc})") from exc
    result = {"base": str(base), "new": str(new), **compare_runs(runs[0], runs[1])}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    table = markdown_table(result, base.stem, new.stem)
    out.with_suffix(".md").write_text(table)
    console.print(table)


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


@eval_app.command("ragas")
def eval_ragas(
    dataset: Annotated[
        Path, typer.Option(help="a SQuAD 2.0 .json file, a BEIR folder, or a .jsonl of {question, ...}")
    ],
    out: Annotated[Path, typer.Option(help="the report folder (its cache/ makes a rerun resume)")],
    limit: Annotated[int | None, typer.Option(help="score this many samples, drawn at random")] = None,
    seed: Annotated[int, typer.Option(help="seed of the draw, the bootstrap and the answer swap")] = 0,
    split: Annotated[str, typer.Option(help="BEIR: the qrels split")] = "test",
    held_out: Annotated[
        bool, typer.Option(help="SQuAD: only articles not used to calibrate abstention (kept back)")
    ] = False,
    judge_model: Annotated[
        str | None, typer.Option("--judge", help="judge GGUF path or packaged name (default: answer model)")
    ] = None,
    judge_attempts: Annotated[int, typer.Option(help="tries per judge call before it counts as NaN")] = 3,
    judge_max_tokens: Annotated[int, typer.Option(help="longest judge answer, in tokens")] = 512,
    judge_timeout: Annotated[float, typer.Option(help="seconds one judge answer may take")] = 300.0,
    top_k: Annotated[int | None, typer.Option(help="passages per answer (default: the setting)")] = None,
    mode: Annotated[str, typer.Option(help="retrieval: hybrid, dense or bm25")] = "hybrid",
) -> None:
    """Answer a dataset with Verity, score it with ragas and a local judge, check the judge, report."""
    from eval.ragas_run import RunConfig, run_ragas

    config = RunConfig(str(dataset), limit, seed, 0, mode, judge_attempts, judge_max_tokens, judge_timeout)
    config.extra = {"held_out": held_out, "split": split}
    report = run_ragas_command(dataset, out, config, judge_model, top_k, run_ragas)
    console.print(f"report written to {out / 'report.md'} ({report['samples_total']} samples)")
    _print_ragas_table(report)


def run_ragas_command(
    dataset: Path,
    out: Path,
    config: RunConfig,
    judge_model: str | None,
    top_k: int | None,
    run: Callable[..., dict[str, object]],
) -> dict[str, object]:
    """Build the models and the run from the settings, then run it (shared by `eval ragas` and `eval all`)."""
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    offline_environment()
    from retrieval.embedding_cache import CachedEmbedder, EmbeddingCache

    data, samples = _ragas_samples(dataset, config)
    container = Container(Settings())
    config.top_k = top_k or container.settings.top_k
    judge, scorers, judge_name = _ragas_judge(container, judge_model, config, out)
    vectors = EmbeddingCache(out / "cache" / "embeddings.sqlite3")
    setup = AnswerSetup(
        CachedEmbedder(container.embedder, vectors),
        container.engine,
        FAISS_BACKEND,
        container.generation_params,
        container.abstainer,
        config.top_k,
        container.settings.context_budget_tokens,
        cast(SearchMode, config.mode),
        container.compressor,
    )
    config.extra["context_compression"] = container.compressor is not None
    models = {"answer": container.engine.name, "judge": judge_name, "embeddings": container.embedder.name}
    try:
        with progress_bars() as bar:
            return run(data, samples, setup, judge, scorers, config, out, models, stage_reporter(bar))
    finally:
        if judge.cache is not None:
            judge.cache.close()
        vectors.close()


def _ragas_samples(dataset: Path, config: RunConfig) -> tuple[RagasDataset, list[RagasSample]]:
    """The dataset and the samples a run asks (seeded draw; --held-out keeps calibration articles out)."""
    from eval.errors import DatasetError
    from eval.ragas_datasets import choose, load_dataset
    from generation.abstention import CALIBRATION_ARTICLES

    if config.mode not in ("hybrid", "dense", "bm25"):
        raise typer.BadParameter("--mode must be hybrid, dense or bm25")
    try:
        data = load_dataset(dataset, str(config.extra.get("split", "test")))
    except DatasetError as exc:
        raise typer.BadParameter(str(exc)) from exc
    groups = None
    if config.extra.get("held_out"):
        groups = sorted({x.group for x in data.samples} - set(CALIBRATION_ARTICLES))
    return data, choose(data.samples, config.limit, config.seed, groups)


def _ragas_judge(
    container: Container, judge_model: str | None, config: RunConfig, out: Path
) -> tuple[LocalJudge, Scorers, str]:
    """The local judge (the answer model unless another is named), its disk cache and ragas' metrics."""
    from eval.ragas_judge import JudgeCache, LocalJudge, VerityEmbeddings, llama_json_completer
    from eval.ragas_scoring import build_scorers
    from generation.engines.llama_cpp import LlamaCppEngine
    from generation.models import resolve_model_path

    s = container.settings
    engine = container.engine
    if judge_model is not None and judge_model != s.llm_model:
        path = resolve_model_path(judge_model, s.model_cache_dir)
        engine = LlamaCppEngine(path, s.llm_context_window, s.llm_threads, s.llm_gpu_layers)
    if not isinstance(engine, LlamaCppEngine):
        raise typer.BadParameter("the ragas judge needs a llama.cpp model")
    completer = llama_json_completer(engine, config.judge_max_tokens, config.judge_timeout_s)
    judge = LocalJudge(
        completer, engine.name, JudgeCache(out / "cache" / "judge.sqlite3"), config.judge_attempts
    )
    scorers = build_scorers(judge, VerityEmbeddings(container.embedder), config.relevancy_strictness)
    return judge, scorers, engine.name


def _print_ragas_table(report: dict[str, object]) -> None:
    metrics = cast(dict[str, dict[str, dict[str, object]]], report["metrics"])
    table = Table("metric", "mean", "95% CI", "n", "NaN", "n/a", title="ragas")
    for name, summary in metrics["all"].items():
        mean_value, ci = summary["mean"], cast(list[float] | None, summary["ci95"])
        table.add_row(
            name,
            "-" if mean_value is None else f"{mean_value:.3f}",
            "-" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]",
            str(summary["n"]),
            str(summary["nan"]),
            str(summary["not_applicable"]),
        )
    console.print(table)


GateRunner = Callable[
    [dict[str, object], Container, Path, Stage], tuple[dict[str, object], dict[str, object]]
]


def _gate_retrieval(
    section: dict[str, object], container: Container, out: Path, show: Stage
) -> tuple[dict[str, object], dict[str, object]]:
    from eval.gate_retrieval import evaluate_retrieval_slice, retrieval_headline

    backend = store_backend(container.settings)
    result = evaluate_retrieval_slice(section, container.embedder, backend, show)
    return result, cast(dict[str, object], retrieval_headline(result))


def _gate_qa(
    section: dict[str, object], container: Container, out: Path, show: Stage
) -> tuple[dict[str, object], dict[str, object]]:
    from eval.gate import headline_entry
    from eval.qa import evaluate_qa

    limit = cast(int | None, section.get("limit"))
    result = evaluate_qa(
        Path(str(section["squad"])),
        container.embedder,
        container.engine,
        FAISS_BACKEND,
        limit,
        int(cast(int, section.get("seed", 0))),
        int(cast(int, section.get("top_k", container.settings.top_k))),
        container.generation_params,
        show,
        container.abstainer,
        bool(section.get("held_out", False)),
        out / "cache" / "qa.jsonl",
        container.compressor,
    )
    result["compression_neighbours"] = _compression_neighbours(container)
    answerable = cast(dict[str, float], result["answerable"])
    unanswerable = cast(dict[str, float], result["unanswerable"])
    citations = cast(dict[str, float], result["citations"])
    return result, {
        "qa.contains_gold": headline_entry(answerable["contains_gold"]),
        "qa.unanswerable_abstained": headline_entry(unanswerable["abstained"]),
        "qa.citations_supported": headline_entry(citations["supported"]),
    }


def _gate_ingest(
    section: dict[str, object], container: Container, out: Path, show: Stage
) -> tuple[dict[str, object], dict[str, object]]:
    from eval.gate import headline_entry
    from eval.ingest import evaluate_ingest

    result = evaluate_ingest(Path(str(section["sources"])), Path(str(section["reference"])))
    recall = float(result["mean_token_recall"])
    return cast(dict[str, object], result), {"ingest.mean_token_recall": headline_entry(recall)}


def _gate_safety(
    section: dict[str, object], container: Container, out: Path, show: Stage
) -> tuple[dict[str, object], dict[str, object]]:
    from eval.gate import headline_entry
    from eval.safety import evaluate_safety

    names = ("injection", "xstest", "advbench", "bipia_attacks", "bipia_contexts")
    files = {name: Path(str(section[name])) for name in names}
    r = evaluate_safety(container.safety_input_filter, container.safety_context_filter, files)
    return r, {
        "safety.injection_accuracy": headline_entry(r["injection"]["accuracy"]),
        "safety.xstest_unsafe_recall": headline_entry(r["xstest"]["unsafe_recall"]),
        "safety.xstest_safe_passed": headline_entry(1 - r["xstest"]["safe_flagged_rate"]),
        "safety.advbench_recall": headline_entry(r["advbench"]["recall"]),
        "safety.bipia_attack_recall": headline_entry(r["bipia"]["attack_recall"]),
        "safety.bipia_clean_passed": headline_entry(1 - r["bipia"]["clean_flagged_rate"]),
    }


def _gate_ragas(
    section: dict[str, object], container: Container, out: Path, show: Stage
) -> tuple[dict[str, object], dict[str, object]]:
    from eval.gate import headline_entry
    from eval.ragas_run import RunConfig, run_ragas

    config = RunConfig(
        str(section["dataset"]),
        cast(int | None, section.get("limit")),
        int(cast(int, section.get("seed", 0))),
        0,
        str(section.get("mode", "hybrid")),
    )
    config.extra = {"held_out": bool(section.get("held_out", False)), "split": section.get("split", "test")}
    judge = cast(str | None, section.get("judge"))
    top_k = cast(int | None, section.get("top_k"))
    report = run_ragas_command(Path(config.dataset), out / "ragas", config, judge, top_k, run_ragas)
    summaries = cast(dict[str, dict[str, dict[str, object]]], report["metrics"])["all"]
    headline = {
        f"ragas.{name}": headline_entry(cast(float | None, s["mean"]), cast(list[float] | None, s["ci95"]))
        for name, s in summaries.items()
    }
    return {"report": str(out / "ragas" / "report.json")}, cast(dict[str, object], headline)


def _gate_conversations(
    section: dict[str, object], container: Container, out: Path, show: Stage
) -> tuple[dict[str, object], dict[str, object]]:
    from eval.conversations import conversations_headline, evaluate_conversations

    result = evaluate_conversations(
        Path(str(section["squad"])),
        Path(str(section["followups"])),
        container.embedder,
        container.engine,
        FAISS_BACKEND,
        int(cast(int, section.get("top_k", container.settings.top_k))),
        container.abstainer,
        show,
        out / "cache" / "conversations.jsonl",
    )
    return result, cast(dict[str, object], conversations_headline(result))


GATE_RUNNERS: dict[str, GateRunner] = {
    "retrieval": _gate_retrieval,
    "qa": _gate_qa,
    "ingest": _gate_ingest,
    "safety": _gate_safety,
    "ragas": _gate_ragas,
    "conversations": _gate_conversations,
}


@eval_app.command("all")
def eval_all(
    config: Annotated[Path, typer.Option(help="TOML naming the evaluations to run, and [gate] tolerances")],
    out: Annotated[Path, typer.Option(help="folder for each evaluation's result, headline.json, gate.md")],
    baseline: Annotated[
        Path | None, typer.Option(help="a folder with the baseline's headline.json (none: no gate)")
    ] = None,
) -> None:
    """Run the evaluations a config names and compare their headline metrics with a baseline (the gate)."""
    from eval.errors import GateConfigError
    from eval.gate import compare, load_config, load_headline, render_gate
    from eval.ragas_report import write_json_atomic

    try:
        plan = load_config(config)
        base = load_headline(baseline) if baseline is not None else None
    except GateConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    unknown = sorted(set(plan) - set(GATE_RUNNERS) - {"gate", "settings"})
    if unknown:
        raise typer.BadParameter(
            f"{config}: no gate runner for {', '.join(unknown)} (known: {', '.join(GATE_RUNNERS)})"
        )
    offline_environment()
    container = Container(Settings.model_validate(Settings().model_dump() | plan.get("settings", {})))
    headline: dict[str, object] = {}
    with progress_bars() as bar:
        show = stage_reporter(bar)
        for name, section in plan.items():
            if name in GATE_RUNNERS:
                result, metrics = GATE_RUNNERS[name](section, container, out, show)
                write_json_atomic(out / f"{name}.json", result)
                headline |= metrics
    write_json_atomic(out / "headline.json", {"config": str(config), "metrics": headline})
    console.print_json(data=headline)
    if base is None:
        return
    verdict = compare(cast(dict[str, dict[str, object]], headline), base, plan)
    write_json_atomic(out / "gate.json", verdict)
    (out / "gate.md").write_text(render_gate(verdict))
    console.print(render_gate(verdict))
    if not verdict["passed"]:
        raise typer.Exit(1)


register_answerability(eval_app)
