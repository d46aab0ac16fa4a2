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

from eval.ragas_answers import AnswerSetup, answer_samples
from eval.ragas_check import judge_check
from eval.ragas_datasets import RagasDataset, RagasSample
from eval.ragas_judge import LocalJudge
from eval.ragas_plots import plot_report
from eval.ragas_report import metric_summaries, render_markdown, write_json_atomic
from eval.ragas_scoring import METRICS, Scored, Scorers, score_record
from eval.retrieval import Progress

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
    judge_timeout_s: float = 120.0
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
    """Answer, score, check the judge and write `report.json`, `report.md` and the plots into `out`."""
    report = progress or (lambda stage, done, total: None)
    records = answer_samples(dataset, samples, setup, out / "cache" / "answers.jsonl", report)
    scores, judge_seconds = [], []
    for done, record in enumerate(records, start=1):
        before = judge.seconds
        scores.append(score_record(record, scorers))
        judge_seconds.append(round(judge.seconds - before, 2))
        report("judging", done, len(records))
    check = judge_check(records, scores, scorers, config.seed, report)
    result = build_report(dataset, records, scores, judge_seconds, check, config, models)
    result["judge"] = {
        "calls": judge.calls,
        "cache_hits": judge.cache_hits,
        "failures": judge.failures,
        "seconds": round(judge.seconds, 1),
    }
    write_report(result, out)
    return result


def build_report(
    dataset: RagasDataset,
    records: Sequence[dict[str, t.Any]],
    scores: Sequence[Scored],
    judge_seconds: Sequence[float],
    check: dict[str, t.Any],
    config: RunConfig,
    models: dict[str, str],
) -> dict[str, t.Any]:
    """The report's content: every metric summarised three ways, every sample, and what ran."""
    samples = [
        record | {"scores": s.scores, "failed": s.failed, "judge_seconds": seconds}
        for record, s, seconds in zip(records, scores, judge_seconds, strict=True)
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
        "metrics": {
            "all": metric_summaries(samples, METRICS, config.seed),
            "answerable": metric_summaries(samples, METRICS, config.seed, "answerable"),
            "unanswerable": metric_summaries(samples, METRICS, config.seed, "unanswerable"),
        },
        "judge_check": check,
        "config": {k: v for k, v in vars(config).items() if k != "extra"} | config.extra,
        "models": models,
        "versions": package_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "samples": samples,
    }


def write_report(report: dict[str, t.Any], out: Path) -> None:
    """report.json, report.md and the PNG plots, into `out`."""
    report["plots"] = plot_report(report, out)
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
