"""Reports: a bar chart of retrieval results beside published reference numbers; ingestion recall per file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eval.ingest import IngestScores

# Published SciFact test nDCG@10 (see ../shared/data/beir_scifact/README.md and the BEIR/MTEB papers).
SCIFACT_REFERENCES = {
    "BM25 (BEIR paper)": 0.665,
    "BM25 bm25s (MTEB baseline)": 0.687,
    "all-MiniLM-L6-v2 (MTEB)": 0.645,
    "bge-small-en-v1.5 (MTEB)": 0.713,
    "BM25 + MiniLM cross-encoder (published)": 0.688,
}


def plot_retrieval(result: Mapping[str, object], out: Path, references: Mapping[str, float]) -> None:
    """Horizontal bars of nDCG@10: ours per pipeline, and the published references in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ours = result["results"]
    assert isinstance(ours, dict)
    labels = [f"Verity {name}" for name in ours] + list(references)
    values = [float(v["ndcg@10"]) for v in ours.values()] + list(references.values())
    colours = ["#2b6cb0"] * len(ours) + ["#a0aec0"] * len(references)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.2))
    bars = ax.barh(labels[::-1], values[::-1], color=colours[::-1])
    ax.bar_label(bars, fmt="%.3f", padding=3)
    ax.set_xlim(0, max(values) * 1.15)
    ax.set_xlabel("nDCG@10")
    ax.set_title(f"{result['dataset']} ({result['split']}): retrieval quality")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_ingest(result: IngestScores, out: Path) -> None:
    """Horizontal bars of token recall per file (failed files in red), with the mean as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = result["files"]
    names = list(files)[::-1]
    values = [files[n]["recall"] for n in names]
    colours = ["#c53030" if files[n]["error"] else "#2b6cb0" for n in names]
    average = result["mean_token_recall"]
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(names) + 1.4))
    bars = ax.barh(names, values, color=colours)
    ax.bar_label(bars, fmt="%.3f", padding=3, fontsize=8)
    ax.axvline(average, color="#4a5568", linestyle="--", linewidth=1, label=f"mean {average:.3f}")
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("token recall against the reference Markdown")
    ax.set_title("Ingestion: extracted text vs reference, per file")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
