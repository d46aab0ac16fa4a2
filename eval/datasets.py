"""BEIR-format datasets: corpus.jsonl, queries.jsonl and qrels/<split>.tsv."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

from eval.errors import DatasetError


@dataclass(frozen=True)
class BeirDataset:
    """A corpus, the queries that have judgements in one split, and those judgements."""

    name: str
    split: str
    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise DatasetError(f"{path} is missing")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}:{number}: not JSON ({exc})") from exc
    return rows


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> {document id: relevance}, from a BEIR qrels TSV (with header)."""
    if not path.is_file():
        raise DatasetError(f"{path} is missing: is the split name right?")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader, None)
        for row in reader:
            if len(row) >= 3 and int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def load_beir(directory: Path, split: str) -> BeirDataset:
    """Read a BEIR dataset; only queries judged in `split` are kept, and only each query's text is used."""
    qrels = load_qrels(directory / "qrels" / f"{split}.tsv")
    corpus = {
        str(row["_id"]): (str(row.get("title") or ""), str(row.get("text") or ""))
        for row in _read_jsonl(directory / "corpus.jsonl")
    }
    queries = {
        str(row["_id"]): str(row["text"])
        for row in _read_jsonl(directory / "queries.jsonl")
        if str(row["_id"]) in qrels
    }
    if not queries:
        raise DatasetError(f"no query of {directory / 'queries.jsonl'} is judged in split {split!r}")
    return BeirDataset(directory.name, split, corpus, queries, qrels)


def with_sampled_corpus(dataset: BeirDataset, others: int, seed: int = 0) -> BeirDataset:
    """The dataset on a smaller corpus: every judged document, and `others` more drawn at random (seeded)."""
    judged_ids = {doc for judgements in dataset.qrels.values() for doc in judgements}
    judged = sorted(judged_ids & set(dataset.corpus))
    rest = sorted(set(dataset.corpus) - set(judged))
    random.Random(seed).shuffle(rest)
    keep = judged + rest[:others]
    name = f"{dataset.name}_sample{others}"
    corpus = {d: dataset.corpus[d] for d in keep}
    return BeirDataset(name, dataset.split, corpus, dataset.queries, dataset.qrels)
