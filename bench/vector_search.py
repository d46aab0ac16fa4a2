"""Vector search speed and recall: FAISS HNSW and IVF-PQ (+ exact refine) against flat exact search.

    .venv/bin/python -m bench.vector_search [--sizes 100000 1000000] [--queries 500] [--threads 1]

Synthetic 384-d unit vectors drawn around many cluster centres (embeddings are clustered; uniform noise
would make every ANN index look bad and mean nothing). For each size, in the same run: flat exact search
gives the ground truth and the baseline latency; HNSW is swept over efSearch and IVF-PQ over nprobe and
the refine factor (`--indexes` picks them; a size's earlier figures for other indexes are kept); each
setting reports recall@10 against flat, per-query latency p50/p99 (one query at
a time, `--threads` FAISS threads) and index bytes per vector. The speed-up at recall@10 >= 0.95 is flat
p50 / the fastest such setting's p50. Indexes are built by `retrieval.stores.faiss_index`, the code the
FAISS store uses. Writes results/vector_search.json and docs/img/vector_search.png.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import cast

import faiss
import numpy as np
from numpy.typing import NDArray

from retrieval.stores.faiss_index import FaissParams, build_index, search_index

DIM = 384
K = 10
TARGET_RECALL = 0.95
HNSW_EF = (16, 32, 64, 128, 256, 512)
IVFPQ_PROBES = ((8, 16), (8, 32), (16, 32), (32, 32), (16, 64), (32, 64), (64, 64))  # (nprobe, refine factor)
RESULTS = Path("results/vector_search.json")
PLOT = Path("docs/img/vector_search.png")


@dataclass(frozen=True)
class Setting:
    """One index at one search setting, measured."""

    index: str
    setting: str
    recall_at_10: float
    p50_ms: float
    p99_ms: float
    bytes_per_vector: float
    build_s: float
    flat_p50_ms: float = 0.0  # the flat baseline's p50 in the same run (speed-ups never mix runs)


def clustered(n: int, seed: int, centres: NDArray[np.float32]) -> NDArray[np.float32]:
    """n unit vectors, each a random centre plus isotropic noise, made in blocks to bound memory."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        rows = centres[rng.integers(0, len(centres), m)] + rng.normal(scale=0.05, size=(m, DIM)).astype(
            np.float32
        )
        out[start : start + m] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def timed_search(
    params: FaissParams, index: faiss.Index, queries: NDArray[np.float32]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Top-10 positions of each query, searched one at a time, and each query's latency in ms."""
    found = np.empty((len(queries), K), dtype=np.int64)
    latency = np.empty(len(queries))
    for i in range(len(queries)):
        start = time.perf_counter()
        _, positions = search_index(params, index, queries[i : i + 1], K)
        latency[i] = (time.perf_counter() - start) * 1000
        found[i] = positions[0]
    return found, latency


def recall(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    """Mean share of the true top 10 found."""
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def measure(
    name: str,
    label: str,
    params: FaissParams,
    index: faiss.Index,
    queries: NDArray[np.float32],
    truth: NDArray[np.int64] | None,
    build_s: float,
) -> tuple[Setting, NDArray[np.int64]]:
    """One setting's figures (recall is 1 when `truth` is None: the exact baseline)."""
    search_index(params, index, queries[:20], K)  # warm caches
    found, latency = timed_search(params, index, queries)
    size = len(faiss.serialize_index(index)) / index.ntotal
    score = 1.0 if truth is None else recall(found, truth)
    setting = Setting(
        name,
        label,
        score,
        float(np.percentile(latency, 50)),
        float(np.percentile(latency, 99)),
        size,
        build_s,
    )
    print(
        f"  {name:7} {label:22} recall@10 {score:.3f}  p50 {setting.p50_ms:7.3f} ms  "
        f"p99 {setting.p99_ms:7.3f} ms  {size:7.0f} B/vector"
    )
    return setting, found


def built(params: FaissParams, data: NDArray[np.float32]) -> tuple[faiss.Index, float]:
    """The index and its build time in seconds."""
    start = time.perf_counter()
    index = build_index(params, data)
    return index, time.perf_counter() - start


def measure_hnsw(
    data: NDArray[np.float32], queries: NDArray[np.float32], truth: NDArray[np.int64]
) -> list[Setting]:
    """HNSW (M=32, efConstruction=80) swept over efSearch."""
    params = FaissParams(kind="hnsw", hnsw_m=32, ef_construction=80)
    index, build_s = built(params, data)
    print(f"  HNSW M=32 efConstruction=80 built in {build_s:.1f} s")
    return [
        measure("hnsw", f"efSearch={ef}", replace(params, ef_search=ef), index, queries, truth, build_s)[0]
        for ef in HNSW_EF
    ]


def measure_ivfpq(
    data: NDArray[np.float32], queries: NDArray[np.float32], truth: NDArray[np.int64]
) -> list[Setting]:
    """IVF-PQ (2*sqrt(n) lists, 48 x 8-bit codes) with an exact refine, swept over nprobe and refine."""
    params = FaissParams(kind="ivfpq", train_min=0)
    index, build_s = built(params, data)
    base = faiss.downcast_index(index).base_index  # type: ignore[attr-defined]
    print(
        f"  IVF-PQ nlist={faiss.extract_index_ivf(base).nlist} m={DIM // 8} built in {build_s:.1f} s; "
        f"codes alone {len(faiss.serialize_index(base)) / len(data):.0f} B/vector"
    )
    return [
        measure(
            "ivfpq",
            f"nprobe={nprobe} refine={factor}",
            replace(params, nprobe=nprobe, refine_factor=factor),
            index,
            queries,
            truth,
            build_s,
        )[0]
        for nprobe, factor in IVFPQ_PROBES
    ]


def run_size(n: int, n_queries: int, indexes: list[str]) -> dict[str, object]:
    """Flat, then each asked-for ANN index at every setting, for n vectors."""
    rng = np.random.default_rng(n)
    centres = rng.normal(size=(max(50, n // 1000), DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data, queries = clustered(n, 1, centres), clustered(n_queries, 2, centres)
    print(f"{n:,} vectors of {DIM} dimensions, {len(centres):,} clusters, {n_queries} queries")
    flat_params = FaissParams(kind="flat")
    flat, flat_build = built(flat_params, data)
    baseline, truth = measure("flat", "exact", flat_params, flat, queries, None, flat_build)
    del flat
    settings = [replace(baseline, flat_p50_ms=baseline.p50_ms)]
    for name in indexes:
        rows = (measure_hnsw if name == "hnsw" else measure_ivfpq)(data, queries, truth)
        settings += [replace(row, flat_p50_ms=baseline.p50_ms) for row in rows]
    return {"n": n, "queries": n_queries, "clusters": len(centres), "settings": [asdict(s) for s in settings]}


def merged(old: dict[str, object] | None, new: dict[str, object]) -> dict[str, object]:
    """A size's result: the new settings, plus an earlier run's settings for indexes not measured now."""
    new_rows = cast(list[dict[str, object]], new["settings"])
    fresh = {row["index"] for row in new_rows}
    kept = (
        []
        if old is None
        else [r for r in cast(list[dict[str, object]], old["settings"]) if r["index"] not in fresh]
    )
    rows = new_rows + kept
    return new | {"settings": rows, "speedups": speedups([Setting(**r) for r in rows])}  # type: ignore[arg-type]


def speedups(settings: list[Setting]) -> dict[str, dict[str, object] | None]:
    """Per ANN index: the fastest setting with recall@10 >= the target, and flat p50 / its p50 (same run)."""
    out: dict[str, dict[str, object] | None] = {}
    for name in sorted({s.index for s in settings} - {"flat"}):
        good = [s for s in settings if s.index == name and s.recall_at_10 >= TARGET_RECALL]
        best = min(good, key=lambda s: s.p50_ms) if good else None
        out[name] = (
            None
            if best is None
            else {
                "setting": best.setting,
                "recall_at_10": best.recall_at_10,
                "p50_ms": best.p50_ms,
                "flat_p50_ms": best.flat_p50_ms,
                "speedup_vs_flat_p50": best.flat_p50_ms / best.p50_ms,
            }
        )
        line = (
            "no setting reached it"
            if best is None
            else f"{best.setting}: {best.flat_p50_ms / best.p50_ms:.1f}x flat"
        )
        print(f"  {name} at recall@10 >= {TARGET_RECALL}: {line}")
    return out


def plot(results: list[dict[str, object]]) -> None:
    """Recall@10 against p50 latency per index, one panel per size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        rows = result["settings"]
        assert isinstance(rows, list)
        for name, marker in (("flat", "s"), ("hnsw", "o"), ("ivfpq", "^")):
            mine = [r for r in rows if r["index"] == name]
            ax.plot([r["p50_ms"] for r in mine], [r["recall_at_10"] for r in mine], marker=marker, label=name)
        ax.axhline(TARGET_RECALL, color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("p50 latency per query, ms (log)")
        ax.set_ylabel("recall@10 vs flat")
        ax.set_title(f"{result['n']:,} clustered 384-d vectors")
        ax.legend()
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=120)


def main() -> None:
    """Run the benchmark, print its figures, write JSON and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--indexes", nargs="+", choices=["hnsw", "ivfpq"], default=["hnsw", "ivfpq"])
    parser.add_argument("--threads", type=int, default=1, help="FAISS threads for builds and searches")
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.threads)
    earlier = {r["n"]: r for r in json.loads(RESULTS.read_text())["results"]} if RESULTS.exists() else {}
    for n in args.sizes:
        result = run_size(n, args.queries, args.indexes) | {"threads": args.threads}
        earlier[n] = merged(earlier.get(n), result)
    results = [earlier[n] for n in sorted(earlier)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"dimension": DIM, "results": results}, indent=2) + "\n")
    plot(results)
    print(f"wrote {RESULTS} and {PLOT}")


if __name__ == "__main__":
    main()
