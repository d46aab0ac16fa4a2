"""PNG plots of a ragas report: score distributions, answerable against unanswerable, stage latency."""

from __future__ import annotations

import typing as t
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch

PLOTS = ("scores.png", "answerable_vs_unanswerable.png", "latency.png")


def plot_report(report: dict[str, t.Any], out: Path) -> list[str]:
    """Draw the three plots into `out`; returns their file names."""
    out.mkdir(parents=True, exist_ok=True)
    plot_scores(report, out / PLOTS[0])
    plot_groups(report, out / PLOTS[1])
    plot_latency(report, out / PLOTS[2])
    return list(PLOTS)


def plot_scores(report: dict[str, t.Any], path: Path) -> None:
    """One box (with the points) per metric: how scores spread over samples."""
    metrics = [m for m, s in report["metrics"]["all"].items() if s["n"]]
    values = [[s["scores"][m] for s in report["samples"] if s["scores"].get(m) is not None] for m in metrics]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(metrics) + 1.5))
    ax.boxplot(values, orientation="horizontal", widths=0.6, showmeans=True)
    for row, points in enumerate(values, start=1):
        jitter = [row + 0.18 * ((i * 7919) % 11 - 5) / 5 for i in range(len(points))]
        ax.scatter(points, jitter, s=8, alpha=0.5, color="tab:blue")
    summaries = report["metrics"]["all"]
    labels = [f"{m} (n={summaries[m]['n']}, NaN={summaries[m]['nan']})" for m in metrics]
    ax.set_yticks(range(1, len(metrics) + 1), labels)
    ax.set_xlim(-0.05, 1.05)
    ax.set_xlabel("score (box: quartiles, triangle: mean)")
    ax.set_title(f"ragas scores per sample: {report['dataset']['name']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_groups(report: dict[str, t.Any], path: Path) -> None:
    """Mean and 95% interval of each metric, answerable and unanswerable questions side by side."""
    groups = ("answerable", "unanswerable")
    metrics = [m for m in report["metrics"]["all"] if any(report["metrics"][g][m]["n"] for g in groups)]
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(metrics) + 1.5))
    for offset, group, color in ((-0.18, groups[0], "tab:green"), (0.18, groups[1], "tab:orange")):
        for row, metric in enumerate(metrics):
            summary = report["metrics"][group][metric]
            if summary["mean"] is None:
                continue
            low, high = summary["ci95"]
            ax.barh(row + offset, summary["mean"], height=0.34, color=color, alpha=0.8)
            ax.plot([low, high], [row + offset] * 2, color="black", linewidth=1)
            ax.text(min(high + 0.01, 1.0), row + offset, f"n={summary['n']}", va="center", fontsize=7)
    handles = [Patch(color="tab:green", label="answerable"), Patch(color="tab:orange", label="unanswerable")]
    ax.set_yticks(range(len(metrics)), metrics)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("mean score, 95% interval clustered by source document")
    ax.set_title("answerable vs unanswerable questions", loc="left")
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.55, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(report: dict[str, t.Any], path: Path) -> None:
    """Seconds per sample in each stage of answering, and the judge's seconds per sample."""
    stages: dict[str, list[float]] = {}
    for sample in report["samples"]:
        for stage, ms in sample["timings_ms"].items():
            stages.setdefault(stage, []).append(max(ms / 1000, 1e-3))
        stages.setdefault("judge, all metrics (cached: 1 ms)", []).append(
            max(sample.get("judge_seconds", 0.0), 1e-3)
        )
    names = list(stages)
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(names) + 1.5))
    ax.boxplot([stages[n] for n in names], orientation="horizontal", widths=0.6, showmeans=True)
    ax.set_yticks(range(1, len(names) + 1), names)
    ax.set_xscale("log")
    ax.set_xlabel("seconds per sample (log scale; under 1 ms drawn at 1 ms)")
    ax.set_title("per-stage latency (answering with Verity, then judging)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
