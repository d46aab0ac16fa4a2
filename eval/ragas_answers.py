"""Verity's answers to a ragas dataset: the corpus indexed, each question run through the answer pipeline.

Each answer becomes a record (question, answer, the passages shown, abstention, Verity's own sentence
checks, stage timings) appended to a JSONL file as it is made, so a long run can stop and resume.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import typing as t
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.qa import read_records
from eval.ragas_datasets import RagasDataset, RagasSample
from eval.retrieval import EVAL_TENANT, Progress, index_corpus
from generation.abstention import Abstainer
from generation.answer import AnswerPipeline, Compressor, DoneEvent, SourcesEvent
from generation.engines.protocol import Engine, GenerationParams
from retrieval.embedders import Embedder
from retrieval.index import StoreBackend
from retrieval.search import HybridSearcher, SearchMode, SearchResult
from retrieval.types import Scope

_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


@dataclass(frozen=True)
class AnswerSetup:
    """How Verity answers: the models, the store, and the knobs a configuration may change."""

    embedder: Embedder
    engine: Engine
    backend: StoreBackend
    params: GenerationParams
    abstainer: Abstainer | None = None
    top_k: int = 5
    context_budget_tokens: int = 2048
    mode: SearchMode = "hybrid"
    compressor: Compressor | None = None


class _ModeSearcher:
    """A searcher fixed to one retrieval mode (dense, BM25 or hybrid)."""

    def __init__(self, searcher: HybridSearcher, mode: SearchMode) -> None:
        self._searcher, self._mode = searcher, mode

    def search(self, query: str, scope: Scope, top_k: int) -> SearchResult:
        """The fixed mode's search."""
        return self._searcher.search(query, scope, top_k, mode=self._mode)


class Answerer:
    """Answers samples one at a time over the indexed corpus, reading back those already in `cache`.

    The corpus is indexed on the first sample that is not cached; `close` removes the index.
    """

    def __init__(
        self,
        dataset: RagasDataset,
        setup: AnswerSetup,
        cache: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._dataset, self._setup, self._cache = dataset, setup, cache
        self._report = progress or (lambda stage, done, total: None)
        self._cached = {str(r["id"]): r for r in read_records(cache)}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._pipeline: AnswerPipeline | None = None
        self._close_index: t.Callable[[], None] = lambda: None

    def answer(self, sample: RagasSample) -> dict[str, object]:
        """The record of `sample`: from the cache, or answered now and appended to it."""
        if sample.id in self._cached:
            return self._cached[sample.id]
        record = _answer_one(self._ready(), sample, self._setup.top_k)
        _append(self._cache, record)
        self._cached[sample.id] = record
        return record

    def _ready(self) -> AnswerPipeline:
        if self._pipeline is None:
            setup = self._setup
            self._tmp = tempfile.TemporaryDirectory(prefix="verity-ragas-")
            index, _ = index_corpus(
                self._dataset.corpus,
                "ragas",
                setup.embedder,
                setup.backend,
                Path(self._tmp.name),
                self._report,
            )
            self._close_index = index.catalog.close
            searcher = _ModeSearcher(HybridSearcher(index, setup.embedder), setup.mode)
            self._pipeline = AnswerPipeline(
                searcher,
                setup.engine,
                setup.context_budget_tokens,
                setup.params,
                setup.abstainer,
                compressor=setup.compressor,
            )
        return self._pipeline

    def close(self) -> None:
        """Release and delete the index, if one was built."""
        self._close_index()
        if self._tmp is not None:
            self._tmp.cleanup()


def answer_samples(
    dataset: RagasDataset,
    samples: Sequence[RagasSample],
    setup: AnswerSetup,
    cache: Path | None = None,
    progress: Progress | None = None,
) -> list[dict[str, object]]:
    """One record per sample (in order), answered now or read back from `cache`."""
    report = progress or (lambda stage, done, total: None)
    answerer = Answerer(dataset, setup, cache, report)
    try:
        records = []
        for done, sample in enumerate(samples, start=1):
            records.append(answerer.answer(sample))
            report("answering", done, len(samples))
        return records
    finally:
        answerer.close()


def _answer_one(pipeline: AnswerPipeline, sample: RagasSample, top_k: int) -> dict[str, object]:
    start = time.perf_counter()
    events = list(pipeline.run(sample.question, Scope(EVAL_TENANT, "ragas"), top_k))
    seconds = time.perf_counter() - start
    final = events[-1]
    assert isinstance(final, DoneEvent)
    shown = next((e.passages for e in events if isinstance(e, SourcesEvent)), [])
    return answer_record(sample, final, [p.chunk.text for p in shown], seconds)


def answer_record(
    sample: RagasSample, done: DoneEvent, contexts: list[str], seconds: float
) -> dict[str, object]:
    """What a ragas run needs of one answer, with Verity's own checks of it."""
    return {
        "id": sample.id,
        "question": sample.question,
        "references": list(sample.references),
        "reference_contexts": list(sample.reference_contexts),
        "source": sample.source,
        "group": sample.group,
        "answerable": sample.answerable,
        "answer": strip_markers(done.answer),
        "raw_answer": done.answer,
        "contexts": contexts,
        "abstained": done.abstained,
        "verity_sentences_supported": [s.supported for s in done.sentences],
        "verity_citations_verified": [c.verified for c in done.citations],
        "timings_ms": {k: round(v, 1) for k, v in done.timings_ms.items()},
        "seconds": round(seconds, 3),
    }


def strip_markers(answer: str) -> str:
    """The answer without citation markers like [1] or [1, 2]."""
    return " ".join(_MARKERS.sub("", answer).split())


def _append(cache: Path | None, record: dict[str, object]) -> None:
    if cache is None:
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("a") as out:
        out.write(json.dumps(record) + "\n")
