"""The report of a ragas run: summaries with cluster-bootstrap intervals, Markdown, and plots.

Samples about the same source document are not independent, so intervals resample whole documents
(clusters) with replacement. A metric's summary counts the samples it scored (`n`), those the judge
failed on (`nan`: never averaged in) and those it does not apply to (`not_applicable`).
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
import typing as t
from collections.abc import Sequence
from pathlib import Path

BOOTSTRAP_RESAMPLES = 2000
HEADLINE = (
    "faithfulness",
    "response_relevancy",
    "context_precision",
    "context_recall",
    "non_llm_context_precision",
    "non_llm_context_recall",
    "exact_match",
    "string_presence",
    "rouge_l",
    "semantic_similarity",
    "abstained_correctly",
    "answered",
)


def cluster_bootstrap_ci(
    values: Sequence[float], clusters: Sequence[str], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float] | None:
    """95% percentile interval of the mean, resampling whole clusters (None for no values)."""
    if not values:
        return None
    groups: dict[str, list[float]] = {}
    for value, cluster in zip(values, clusters, strict=True):
        groups.setdefault(cluster, []).append(value)
    sums = [(sum(g), len(g)) for g in groups.values()]
    rng = random.Random(seed)
    means = []
    for _ in range(resamples):
        drawn = [sums[rng.randrange(len(sums))] for _ in sums]
        means.append(sum(s for s, _ in drawn) / sum(n for _, n in drawn))
    means.sort()
    return means[int(0.025 * (resamples - 1))], means[math.ceil(0.975 * (resamples - 1))]


def summarize_metric(
    values: Sequence[float | None], failed: Sequence[bool], clusters: Sequence[str], seed: int = 0
) -> dict[str, t.Any]:
    """Mean, 95% clustered interval, and the counts of scored, failed (NaN) and not-applicable samples."""
    kept = [(v, c) for v, f, c in zip(values, failed, clusters, strict=True) if v is not None and not f]
    nan = sum(failed)
    not_applicable = sum(1 for v, f in zip(values, failed, strict=True) if v is None and not f)
    if not kept:
        return {"mean": None, "ci95": None, "n": 0, "nan": nan, "not_applicable": not_applicable}
    numbers, groups = [v for v, _ in kept], [c for _, c in kept]
    interval = cluster_bootstrap_ci(numbers, groups, seed)
    return {
        "mean": round(sum(numbers) / len(numbers), 4),
        "ci95": None if interval is None else [round(interval[0], 4), round(interval[1], 4)],
        "n": len(numbers),
        "nan": nan,
        "not_applicable": not_applicable,
    }


def paired_separation(
    before: Sequence[float], after: Sequence[float], clusters: Sequence[str], seed: int = 0
) -> dict[str, t.Any]:
    """Mean of before - after with its clustered 95% interval, and the share of pairs where before wins
    (ties count half; 0.5 means no separation)."""
    if not before:
        return {"n": 0, "mean_original": None, "mean_perturbed": None, "difference": None}
    diffs = [b - a for b, a in zip(before, after, strict=True)]
    interval = cluster_bootstrap_ci(diffs, clusters, seed)
    wins = sum(1.0 if d > 0 else 0.5 if d == 0 else 0.0 for d in diffs) / len(diffs)
    return {
        "n": len(diffs),
        "mean_original": round(sum(before) / len(before), 4),
        "mean_perturbed": round(sum(after) / len(after), 4),
        "difference": round(sum(diffs) / len(diffs), 4),
        "difference_ci95": None if interval is None else [round(interval[0], 4), round(interval[1], 4)],
        "share_original_higher": round(wins, 4),
    }


def metric_summaries(
    samples: Sequence[dict[str, t.Any]], metrics: Sequence[str], seed: int = 0, where: str | None = None
) -> dict[str, dict[str, t.Any]]:
    """Summaries of every metric over sample entries ({source, answerable, scores, failed})."""
    chosen = [s for s in samples if where is None or (s["answerable"] == (where == "answerable"))]
    clusters = [str(s["source"]) for s in chosen]
    return {
        m: summarize_metric(
            [s["scores"].get(m) for s in chosen], [m in s["failed"] for s in chosen], clusters, seed
        )
        for m in metrics
    }


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as out:
        out.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
    os.replace(out.name, path)


def _fmt(summary: dict[str, t.Any]) -> str:
    if summary["mean"] is None:
        return "-"
    low, high = summary["ci95"]
    return f"{summary['mean']:.3f} [{low:.3f}, {high:.3f}]"


def render_markdown(report: dict[str, t.Any]) -> str:
    """The report as a page people read: the metric table, the judge check, what ran."""
    lines = [f"# ragas run: {report['dataset']['name']}", ""]
    lines += [
        f"{report['samples_total']} samples ({report['dataset']['answerable']} answerable, "
        f"{report['dataset']['unanswerable']} unanswerable), seed {report['config']['seed']}; judge "
        f"`{report['models']['judge']}`, answers by `{report['models']['answer']}`, embeddings "
        f"`{report['models']['embeddings']}`. Mean [95% interval clustered by source document].",
        "",
        "| metric | all | answerable | unanswerable | n | NaN | n/a |",
        "|---|---|---|---|---|---|---|",
    ]
    groups = report["metrics"]
    for metric, summary in groups["all"].items():
        lines.append(
            f"| {metric} | {_fmt(summary)} | {_fmt(groups['answerable'][metric])} | "
            f"{_fmt(groups['unanswerable'][metric])} | {summary['n']} | {summary['nan']} | "
            f"{summary['not_applicable']} |"
        )
    lines += ["", *render_check(report["judge_check"]), "", "## Run", ""]
    lines += [f"- {k}: `{v}`" for k, v in report["config"].items()]
    lines += [f"- {k} {v}" for k, v in report["versions"].items()]
    lines += ["", "Plots: " + ", ".join(f"![{p}]({p})" for p in report["plots"]), ""]
    return "\n".join(lines)


def render_check(check: dict[str, t.Any]) -> list[str]:
    """The judge check as a Markdown table."""
    lines = [
        "## Judge check",
        "",
        "| perturbation | metric | n | original | perturbed | difference [95% CI] | original higher |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("swapped_answers", "supporting_sentence_removed"):
        for metric, sep in check[name].items():
            if not isinstance(sep, dict) or not sep.get("n"):
                continue
            low, high = sep["difference_ci95"]
            lines.append(
                f"| {name.replace('_', ' ')} | {metric} | {sep['n']} | {sep['mean_original']:.3f} | "
                f"{sep['mean_perturbed']:.3f} | {sep['difference']:+.3f} [{low:+.3f}, {high:+.3f}] | "
                f"{sep['share_original_higher']:.2f} |"
            )
    agreement = check["citation_agreement"]
    if agreement["n"]:
        lines += [
            "",
            f"Agreement with Verity's own sentence checks (faithfulness >= 0.5 vs half the sentences "
            f"supported) on {agreement['n']} answers: {agreement['agreement']:.2f}; Spearman "
            f"{agreement['spearman'] if agreement['spearman'] is not None else '-'}.",
        ]
    return lines
