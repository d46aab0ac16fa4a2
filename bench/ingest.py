"""Ingest speed: Verity's whole pipeline against unstructured's partition alone, in the same run.

    .venv/bin/python -m bench.ingest [--sources ../shared/data/docs_mixed/sources]

Prints seconds per file, per page and per MB for both, the ratio ours / partition alone, and how much of
ours is embedding (the floor no pipeline change removes: every chunk must go through the model once).
Models are loaded and both paths warmed up before anything is timed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.container import Container
from app.settings import Settings
from ingest.loaders import _partition_function
from ingest.pipeline import expand_paths
from retrieval.embedders import Embedder, Vectors
from retrieval.embedding_cache import WrappedEmbedder


class TimedEmbedder(WrappedEmbedder):
    """An embedder that adds up the seconds spent embedding."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed through the inner model, timing it."""
        start = time.perf_counter()
        vectors = self._inner.embed(texts)
        self.seconds += time.perf_counter() - start
        return vectors


def pages_of(elements: list[object]) -> int:
    """Pages a partition spans (1 for formats without pages)."""
    pages = {getattr(getattr(e, "metadata", None), "page_number", None) for e in elements}
    return max(1, len(pages - {None}))


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=Path("../shared/data/docs_mixed/sources"))
    files = expand_paths([parser.parse_args().sources])
    partition = _partition_function()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        embedder = TimedEmbedder(Container(settings).embedder)
        container = Container(settings, embedder=embedder)
        pipeline = container.ingest_pipeline
        partition(filename=str(files[0]), strategy="fast", languages=["eng"])  # warm both paths
        pipeline.ingest_file(files[0], "warm-up", "bench", "warm-up")
        start = time.perf_counter()
        pages = sum(pages_of(partition(filename=str(f), strategy="fast", languages=["eng"])) for f in files)
        alone = time.perf_counter() - start
        embedder.seconds = 0.0
        start = time.perf_counter()
        report = pipeline.ingest(files, tenant="bench", collection="timed")
        ours = time.perf_counter() - start
        container.close()
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    print(f"{len(files)} files, {pages} pages, {megabytes:.2f} MB; failed: {len(report.failed)}")
    print(f"{'':24}{'total s':>10}{'s/file':>10}{'s/page':>10}{'s/MB':>10}")
    for name, seconds in (("partition alone", alone), ("Verity ingest", ours)):
        print(
            f"{name:24}{seconds:10.2f}{seconds / len(files):10.3f}{seconds / pages:10.3f}"
            f"{seconds / megabytes:10.2f}"
        )
    print(f"ratio Verity / partition alone: {ours / alone:.2f}x")
    print(
        f"of which embedding {embedder.seconds:.2f} s ({embedder.seconds / alone:.2f}x partition alone), "
        f"everything else {ours - embedder.seconds:.2f} s ({(ours - embedder.seconds) / alone:.2f}x)"
    )


if __name__ == "__main__":
    main()
