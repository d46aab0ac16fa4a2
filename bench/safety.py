"""Safety overhead: the answer pipeline with and without the safety gate, in the same run.

    .venv/bin/python -m bench.safety [--requests 40] [--squad PATH_TO_SQUAD_JSON]

Each request is a SQuAD question over five SQuAD paragraphs not seen before (so the context filter's
cache does not help), answered by the scripted engine with a sentence of the first paragraph; the
retriever embeds the question with the real MiniLM, as dense retrieval does. Prints the median time per
request unfiltered and filtered, the median added milliseconds, and the ratio filtered / unfiltered.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.container import Container
from app.settings import Settings
from generation.answer import AnswerPipeline
from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from generation.safety.datasets import read_squad
from retrieval.embedders import Embedder
from retrieval.embedding_cache import RecentEmbedder
from retrieval.search import SearchResult
from retrieval.types import Chunk, Passage, Scope

PASSAGES = 5


class EmbeddingRetriever:
    """Embeds the question (the cost of dense retrieval) and returns the next unseen paragraphs."""

    def __init__(self, embedder: Embedder, paragraphs: Sequence[str]) -> None:
        self._embedder = embedder
        self._paragraphs = paragraphs
        self._next = 0

    def search(self, query: str, scope: Scope, top_k: int) -> SearchResult:
        self._embedder.embed([query])
        texts = [self._paragraphs[(self._next + i) % len(self._paragraphs)] for i in range(PASSAGES)]
        self._next += PASSAGES
        chunks = [
            Chunk(i, f"d{i}", "default", "default", 0, t, "squad.md", None, None, 0, len(t))
            for i, t in enumerate(texts)
        ]
        return SearchResult([Passage(c, 1.0) for c in chunks])


def first_sentence(messages: Sequence[ChatMessage]) -> str:
    """The scripted reply: the first sentence of the first source, cited."""
    body = messages[-1].content.split("\n", 3)[-1]
    return body.split(". ")[0] + " [1]."


def time_requests(pipeline: AnswerPipeline, questions: Sequence[str]) -> list[float]:
    """Milliseconds per request, each run to its last event."""
    out = []
    for q in questions:
        start = time.perf_counter()
        for _ in pipeline.run(q, Scope()):
            pass
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    """Time both pipelines and print the comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--squad", type=Path, default=Path("../shared/data/squad_v2_dev_half_a/dev-v2.0-half-a.json")
    )
    args = parser.parse_args()
    questions, paragraphs = read_squad(args.squad)
    container = Container(Settings())
    gate = container.safety_gate
    assert gate is not None, "set VERITY_SAFETY=on"
    engine = ScriptedEngine(first_sentence)
    half = len(paragraphs) // 2
    # Each pipeline embeds questions as the product does: through a recent-vectors cache of its own (the
    # gate's input filter shares the container's with retrieval, as in the answer pipeline).
    plain = AnswerPipeline(EmbeddingRetriever(RecentEmbedder(container.embedder), paragraphs[:half]), engine)
    retriever = EmbeddingRetriever(container.query_embedder, paragraphs[half:])
    safe = AnswerPipeline(retriever, engine, safety=gate)
    warm = questions[:3]
    time_requests(plain, warm), time_requests(safe, warm)
    asked = questions[3 : 3 + args.requests]
    base, filtered = [], []
    for q in asked:  # interleaved, so load on the machine hits both alike
        base += time_requests(plain, [q])
        filtered += time_requests(safe, [q])
    b, f = statistics.median(base), statistics.median(filtered)
    added = statistics.median(x - y for x, y in zip(filtered, base, strict=True))
    print(f"requests: {len(asked)}, passages per request: {PASSAGES} (unseen: context cache cold)")
    print(f"unfiltered median: {b:.1f} ms   filtered median: {f:.1f} ms")
    print(f"median added latency: {added:.1f} ms   ratio filtered/unfiltered: {f / b:.2f}")


if __name__ == "__main__":
    main()
