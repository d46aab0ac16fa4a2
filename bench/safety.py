"""Safety overhead: the answer pipeline with and without the safety gate, in the same run.

    .venv/bin/python -m bench.safety [--requests 40] [--squad PATH_TO_SQUAD_JSON]

Each request is a SQuAD question over five SQuAD paragraphs, answered by the scripted engine with a
sentence of the first paragraph; the retriever embeds the question with the real MiniLM, as dense
retrieval does. Three pipelines answer every question in turn (so load on the machine hits all alike):

- unfiltered: no safety gate;
- ingested: the gate reads passage verdicts from the SQLite verdict store that ingestion filled (the
  paragraphs are scanned first by a separate scanner, as `IngestPipeline` does with every chunk; the
  query-time scanner starts with an empty memory cache, so every verdict is read from the file);
- cold: the gate scans passages it has never seen (chunks ingested before the scanner existed).

Prints, for each, the median wall-clock and CPU milliseconds per request, the median added milliseconds
and the ratio to unfiltered. CPU time (the process's, all threads) is the steadier figure when other work
shares the cores; wall-clock is the one the target is about, on idle cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.container import Container
from app.settings import Settings
from eval.training.safety_sets import read_squad
from generation.answer import AnswerPipeline
from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from generation.safety.gate import SafetyGate
from generation.safety.input import InputFilter
from generation.safety.policy import parse_policy
from generation.safety.scanner import PassageScanner
from generation.safety.verdicts import VerdictStore
from retrieval.embedders import Embedder
from retrieval.embedding_cache import RecentEmbedder
from retrieval.search import SearchResult
from retrieval.types import Chunk, Passage, Scope

PASSAGES = 5
INGEST_BATCH = 32


class EmbeddingRetriever:
    """Embeds the question (the cost of dense retrieval) and returns the next paragraphs in turn."""

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


def time_requests(pipeline: AnswerPipeline, questions: Sequence[str]) -> list[tuple[float, float]]:
    """Wall-clock and CPU (this process, all threads) milliseconds per request, each run to its last event."""
    out = []
    for q in questions:
        start, cpu = time.perf_counter(), time.process_time()
        for _ in pipeline.run(q, Scope()):
            pass
        out.append(((time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000))
    return out


def filtered_pipeline(
    container: Container, engine: ScriptedEngine, paragraphs: Sequence[str], scanner: PassageScanner
) -> AnswerPipeline:
    """The container's safety gate with passage scans from `scanner`, its input filter sharing a
    recent-vectors embedder of its own with the retriever (as the container's gate shares one)."""
    recent = RecentEmbedder(container.embedder)
    heads = container.safety_heads
    gate = SafetyGate(
        InputFilter(heads.injection, heads.harm, recent, container.safety_second_stage),
        container.safety_context_filter,
        container.safety_output_filter,
        container.safety_pii,
        parse_policy(container.settings.safety_policy),
        scanner=scanner,
    )
    return AnswerPipeline(EmbeddingRetriever(recent, paragraphs), engine, safety=gate)


def ingest_scan(container: Container, store_path: Path, paragraphs: Sequence[str]) -> None:
    """Scan the paragraphs as ingestion does (batches of chunks), leaving their verdicts in the store;
    print the scan's cost per chunk beside the cost of embedding the chunk for retrieval, as ingest does."""
    scanner = PassageScanner(container.safety_context_filter, VerdictStore(store_path))
    start = time.perf_counter()
    for i in range(0, len(paragraphs), INGEST_BATCH):
        scanner.scan(paragraphs[i : i + INGEST_BATCH])
    scan_ms = (time.perf_counter() - start) * 1000 / len(paragraphs)
    scanner.close()
    start = time.perf_counter()
    for i in range(0, len(paragraphs), INGEST_BATCH):
        container.embedder.embed(paragraphs[i : i + INGEST_BATCH])
    embed_ms = (time.perf_counter() - start) * 1000 / len(paragraphs)
    print(
        f"ingest, per chunk: safety scan {scan_ms:.1f} ms, embedding for retrieval {embed_ms:.1f} ms "
        f"(ratio {scan_ms / embed_ms:.2f})"
    )


def report(name: str, times: list[tuple[float, float]], base: list[tuple[float, float]]) -> None:
    """One pipeline's medians (wall, CPU), median added milliseconds and ratio to unfiltered."""
    parts = []
    for i, kind in enumerate(("wall", "cpu")):
        mine, theirs = [t[i] for t in times], [t[i] for t in base]
        med, b = statistics.median(mine), statistics.median(theirs)
        added = statistics.median(x - y for x, y in zip(mine, theirs, strict=True))
        parts.append(f"{kind} {med:6.1f} ms, added {added:5.1f} ms, ratio {med / b:.2f}")
    print(f"{name:<30} " + "   ".join(parts))


def main() -> None:
    """Time the three pipelines and print the comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--squad", type=Path, default=Path("../shared/data/squad_v2_dev_half_a/dev-v2.0-half-a.json")
    )
    args = parser.parse_args()
    questions, paragraphs = read_squad(args.squad)
    container = Container(Settings())
    engine = ScriptedEngine(first_sentence)
    need = PASSAGES * (3 + args.requests)  # no passage may come round twice in a filtered pipeline
    if 2 * need > len(paragraphs):
        parser.error(
            f"--requests {args.requests} needs {2 * need} paragraphs; {args.squad} has {len(paragraphs)}"
        )
    # The unfiltered pipeline caches nothing, so it may read the same paragraphs as the cold one.
    ingested_p, cold_p = paragraphs[:need], paragraphs[need : 2 * need]
    plain_p = cold_p
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "safety_verdicts.sqlite3"
        ingest_scan(container, store_path, ingested_p)
        query_scanner = PassageScanner(container.safety_context_filter, VerdictStore(store_path))
        # Each pipeline embeds questions through a recent-vectors cache of its own, as the product does.
        plain = AnswerPipeline(EmbeddingRetriever(RecentEmbedder(container.embedder), plain_p), engine)
        ingested = filtered_pipeline(container, engine, ingested_p, query_scanner)
        cold = filtered_pipeline(container, engine, cold_p, PassageScanner(container.safety_context_filter))
        pipelines = [plain, ingested, cold]
        for pipeline in pipelines:
            time_requests(pipeline, questions[:3])
        times: list[list[tuple[float, float]]] = [[], [], []]
        asked = questions[3 : 3 + args.requests]
        for q in asked:  # interleaved, so load on the machine hits all three alike
            for i, pipeline in enumerate(pipelines):
                times[i] += time_requests(pipeline, [q])
        query_scanner.close()
    print(f"requests: {len(asked)}, passages per request: {PASSAGES}; load average {os.getloadavg()[0]:.2f}")
    wall, cpu = (statistics.median(t[i] for t in times[0]) for i in range(2))
    print(f"{'unfiltered':<30} wall {wall:6.1f} ms   cpu {cpu:6.1f} ms   (medians)")
    report("filtered, passages ingested", times[1], times[0])
    report("filtered, passages never seen", times[2], times[0])
    escalated = sum(any(f.escalated for f in container.safety_input_filter.check(q)) for q in asked)
    print(f"questions the input filter's second stage read: {escalated} of {len(asked)}")
    if container.safety_second_stage is not None:
        encoder = container.safety_second_stage.encoder
        encode_ms = []
        for q in asked[:10]:
            start = time.perf_counter()
            encoder.encode([q])
            encode_ms.append((time.perf_counter() - start) * 1000)
        print(f"an escalated question costs the encoder {statistics.median(encode_ms):.0f} ms more (median)")


if __name__ == "__main__":
    main()
