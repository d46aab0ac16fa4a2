"""One ragas run: Verity answers the samples, the local judge scores them, the judge is checked, and the
report (JSON, Markdown, plots) is written to one folder.

Answers are kept in `<out>/cache/answers.jsonl` and judge answers in `<out>/cache/judge.sqlite3`: running
the same command again resumes where a stopped run left off, and re-scores from the cache.
"""

from __future__ import annotations

import time
import typing as t
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from eval.ragas_answers import Answerer, AnswerSetup
from eval.ragas_check import judge_check, score_ablated, score_swapped, swap_partners
from eval.ragas_datasets import RagasDataset, RagasSample
from eval.ragas_judge import LocalJudge
from eval.ragas_plots import PLOTS, plot_report
from eval.ragas_report import metric_summaries, render_markdown, write_json_atomic
from eval.ragas_scoring import METRICS, Scored, Scorers, score_record
from eval.retrieval import Progress

PLOT_EVERY = 5  # samples between redrawn plots while a run is in progress
PACKAGES = ("verity", "ragas", "llama-cpp-python", "sentence-transformers", "torch", "langchain-core")


@dataclass
class RunConfig:
    """What a run was asked to do (recorded in its report)."""

    dataset: str
    limit: int | None
    seed: int
    top_k: int
    mode: str = "hybrid"
    judge_attempts: int = 3
    judge_max_tokens: int = 512
    judge_timeout_s: float = 300.0
    relevancy_strictness: int = 1
    extra: dict[str, t.Any] = field(default_factory=dict)


def run_ragas(
    dataset: RagasDataset,
    samples: Sequence[RagasSample],
    setup: AnswerSetup,
    judge: LocalJudge,
    scorers: Scorers,
    config: RunConfig,
    out: Path,
    models: dict[str, str],
    progress: Progress | None = None,
) -> dict[str, t.Any]:
    """Answer, score and check the judge sample by sample, rewriting `report.json`, `report.md` and the
    plots in `out` after each one (a stopped run leaves the report of the samples it finished)."""
    report = progress or (lambda stage, done, total: None)
    answerer = Answerer(dataset, setup, out / "cache" / "answers.jsonl", report)
    state = _RunState()
    result: dict[str, t.Any] = {}
    try:
        for done, sample in enumerate(samples, start=1):
            state.add(answerer.answer(sample), judge, scorers)
            result = build_report(dataset, state, config, models, len(samples))
            result["judge"] = judge_summary(judge)
            write_report(result, out, plots=done == len(samples) or done % PLOT_EVERY == 0)
            report("answering and judging", done, len(samples))
    finally:
        answerer.close()
    return result


class _RunState:
    """The samples scored so far, with their perturbed scores for the judge check."""

    def __init__(self) -> None:
        self.records: list[dict[str, t.Any]] = []
        self.scores: list[Scored] = []
        self.judge_seconds: list[float] = []
        self.swapped: dict[str, Scored] = {}
        self.ablated: dict[str, Scored] = {}

    def add(self, record: dict[str, t.Any], judge: LocalJudge, scorers: Scorers) -> None:
        """Score one answered record, its ablation, and the answer swaps it makes possible."""
        before = judge.seconds
        self.records.append(record)
        self.scores.append(score_record(record, scorers))
        ablated = score_ablated(record, scorers)
        if ablated is not None:
            self.ablated[str(record["id"])] = ablated
        for other, answer in swap_partners(self.records):
            if str(other["id"]) not in self.swapped:
                self.swapped[str(other["id"])] = score_swapped(other, answer, scorers)
        self.judge_seconds.append(round(judge.seconds - before, 2))


def judge_summary(judge: LocalJudge) -> dict[str, t.Any]:
    """How much the judge was asked, answered from the cache, and failed."""
    return {
        "model": judge.model,
        "calls": judge.calls,
        "cache_hits": judge.cache_hits,
        "failures": judge.failures,
        "seconds": round(judge.seconds, 1),
    }


def build_report(
    dataset: RagasDataset,
    state: _RunState,
    config: RunConfig,
    models: dict[str, str],
    planned: int,
) -> dict[str, t.Any]:
    """The report's content: every metric summarised three ways, the judge check, every sample, and
    what ran."""
    records = state.records
    samples = [
        record | {"scores": s.scores, "failed": s.failed, "judge_seconds": seconds}
        for record, s, seconds in zip(records, state.scores, state.judge_seconds, strict=True)
    ]
    answerable = sum(1 for r in records if r["answerable"])
    return {
        "dataset": {
            "name": dataset.name,
            "path": config.dataset,
            "corpus_documents": len(dataset.corpus),
            "answerable": answerable,
            "unanswerable": len(records) - answerable,
        },
        "samples_total": len(records),
        "samples_planned": planned,
        "metrics": {
            "all": metric_summaries(samples, METRICS, config.seed),
            "answerable": metric_summaries(samples, METRICS, config.seed, "answerable"),
            "unanswerable": metric_summaries(samples, METRICS, config.seed, "unanswerable"),
        },
        "judge_check": judge_check(records, state.scores, state.swapped, state.ablated, config.seed),
        "config": {k: v for k, v in vars(config).items() if k != "extra"} | config.extra,
        "models": models,
        "versions": package_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "samples": samples,
    }


def write_report(report: dict[str, t.Any], out: Path, plots: bool = True) -> None:
    """report.json, report.md and (unless `plots` is false) the PNG plots, into `out`."""
    report["plots"] = plot_report(report, out) if plots else list(PLOTS)
    write_json_atomic(out / "report.json", report)
    (out / "report.md").write_text(render_markdown(report))


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a run's figures depend on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
