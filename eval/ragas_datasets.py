"""Datasets for ragas runs: SQuAD 2.0 JSON, BEIR folders and JSONL of {question, reference?, contexts?}.

Each adapter gives a corpus (document id -> (title, text)) that Verity indexes and answers from, and the
samples asked over it. A sample knows its reference answers (none: unanswerable), the reference contexts
that hold the answer, and the source document its scores are clustered by.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval.datasets import load_beir
from eval.errors import DatasetError
from eval.qa import article_of, load_squad


@dataclass(frozen=True)
class RagasSample:
    """One question with what is known about its answer."""

    id: str
    question: str
    references: tuple[str, ...] = ()
    reference_contexts: tuple[str, ...] = ()
    source: str = ""
    answerable: bool = True
    group: str = ""

    @property
    def reference(self) -> str | None:
        """The first reference answer (None when there is none)."""
        return self.references[0] if self.references else None


@dataclass(frozen=True)
class RagasDataset:
    """A corpus to index and the samples to ask over it."""

    name: str
    corpus: dict[str, tuple[str, str]]
    samples: list[RagasSample] = field(default_factory=list)


def load_squad_dataset(path: Path) -> RagasDataset:
    """A SQuAD 2.0 JSON file: its paragraphs are the corpus; unanswerable questions have no reference."""
    paragraphs, questions = load_squad(path)
    samples = [
        RagasSample(
            id=q.id,
            question=q.question,
            references=tuple(dict.fromkeys(q.answers)),
            reference_contexts=(paragraphs[q.paragraph_id][1],),
            source=q.paragraph_id,
            answerable=q.answerable,
            group=article_of(q),
        )
        for q in questions
    ]
    return RagasDataset(path.stem, paragraphs, samples)


def load_beir_dataset(directory: Path, split: str = "test") -> RagasDataset:
    """A BEIR folder: judged documents are the reference contexts; `metadata.answers` the references."""
    dataset = load_beir(directory, split)
    answers = _beir_answers(directory / "queries.jsonl")
    samples = []
    for query_id, text in dataset.queries.items():
        relevant = sorted(d for d in dataset.qrels[query_id] if d in dataset.corpus)
        contexts = tuple(dataset.corpus[d][1] for d in relevant)
        source = relevant[0] if relevant else query_id
        samples.append(RagasSample(query_id, text, answers.get(query_id, ()), contexts, source, True, source))
    return RagasDataset(dataset.name, dataset.corpus, samples)


def _beir_answers(path: Path) -> dict[str, tuple[str, ...]]:
    answers: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            found = (row.get("metadata") or {}).get("answers") or []
            if found:
                answers[str(row["_id"])] = tuple(str(a) for a in found)
    return answers


def load_jsonl_dataset(path: Path) -> RagasDataset:
    """JSONL rows {question, reference?, contexts?, id?, answerable?}: every context becomes a document.

    A row with no reference counts as answerable unless it says `"answerable": false`; the corpus is the
    set of all contexts (rows need not each have some, but the file must have at least one).
    """
    corpus: dict[str, tuple[str, str]] = {}
    samples = []
    for number, row in enumerate(_jsonl_rows(path), start=1):
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise DatasetError(f"{path}:{number}: 'question' must be a non-empty string")
        contexts = _strings(row.get("contexts") or [], path, number, "contexts")
        reference = row.get("reference")
        references = _strings([reference] if isinstance(reference, str) else reference or [], path, number)
        ids = [_context_id(c) for c in contexts]
        corpus.update({i: ("", c) for i, c in zip(ids, contexts, strict=True)})
        answerable = bool(row.get("answerable", True))
        sample_id = str(row.get("id") or f"{path.stem}-{number}")
        samples.append(
            RagasSample(
                sample_id,
                question,
                tuple(references),
                tuple(contexts),
                ids[0] if ids else sample_id,
                answerable,
            )
        )
    if not corpus:
        raise DatasetError(f"{path}: no row has 'contexts', so there is no corpus to answer from")
    return RagasDataset(path.stem, corpus, samples)


def _jsonl_rows(path: Path) -> list[dict[str, object]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number}: each line must be a JSON object")
        rows.append(row)
    return rows


def _strings(value: object, path: Path, number: int, name: str = "reference") -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{path}:{number}: '{name}' must be a string or a list of strings")
    return [v for v in value if v.strip()]


def _context_id(text: str) -> str:
    return "ctx-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def load_dataset(path: Path, split: str = "test") -> RagasDataset:
    """Pick the adapter by what `path` is: a folder (BEIR), `.json` (SQuAD 2.0) or `.jsonl`."""
    if path.is_dir():
        return load_beir_dataset(path, split)
    if path.suffix == ".json":
        return load_squad_dataset(path)
    if path.suffix == ".jsonl":
        return load_jsonl_dataset(path)
    raise DatasetError(f"{path}: give a BEIR folder, a SQuAD 2.0 .json file or a .jsonl file")


def choose(
    samples: Sequence[RagasSample], limit: int | None, seed: int, groups: Sequence[str] | None = None
) -> list[RagasSample]:
    """`limit` samples drawn at random with `seed` (all when no limit), optionally only of `groups`."""
    pool = [s for s in samples if groups is None or s.group in groups]
    if limit is None or limit >= len(pool):
        return list(pool)
    return random.Random(seed).sample(pool, limit)
