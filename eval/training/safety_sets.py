"""Readers for the safety data sets in their published formats, and BIPIA's way of planting an attack."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from eval.errors import DatasetError


@dataclass(frozen=True)
class LabeledText:
    """One text with a binary label (1: positive for the task) and a group of related rows."""

    text: str
    label: int
    group: str = ""


def read_deepset(path: Path) -> list[LabeledText]:
    """deepset/prompt-injections rows from JSONL `{"text","label"}` (1: injection)."""
    rows = [json.loads(line) for line in _lines(path)]
    try:
        return [LabeledText(str(r["text"]), int(r["label"])) for r in rows]
    except KeyError as exc:
        raise DatasetError(f"{path}: every row needs 'text' and 'label' ({exc} missing)") from exc


def read_xstest(path: Path) -> list[LabeledText]:
    """XSTest prompts (1: unsafe), grouped by `focus` so safe/unsafe contrast pairs stay together."""
    with _open(path) as f:
        rows = list(csv.DictReader(f))
    try:
        return [LabeledText(r["prompt"], int(r["label"] == "unsafe"), "xs:" + r["focus"]) for r in rows]
    except KeyError as exc:
        raise DatasetError(f"{path}: needs columns prompt,label,focus ({exc} missing)") from exc


def read_advbench(path: Path) -> list[tuple[str, str]]:
    """AdvBench harmful behaviours as (goal, target) pairs; every goal is harmful."""
    with _open(path) as f:
        rows = list(csv.DictReader(f))
    try:
        return [(r["goal"], r["target"]) for r in rows]
    except KeyError as exc:
        raise DatasetError(f"{path}: needs columns goal,target ({exc} missing)") from exc


def read_bipia_attacks(path: Path) -> dict[str, list[str]]:
    """BIPIA attack instructions, `{category: [attack, ...]}`."""
    with _open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected an object of category -> list of attacks")
    return {str(k): [str(a) for a in v] for k, v in data.items()}


def read_bipia_contexts(path: Path) -> list[str]:
    """BIPIA contexts (EmailQA strings or CodeQA line lists), as plain text."""
    out = []
    for line in _lines(path):
        context = json.loads(line).get("context")
        if context is None:
            raise DatasetError(f"{path}: a row has no 'context'")
        out.append("\n".join(context) if isinstance(context, list) else str(context))
    return out


def read_squad(path: Path) -> tuple[list[str], list[str]]:
    """SQuAD questions and context paragraphs."""
    with _open(path) as f:
        data = json.load(f)
    questions: list[str] = []
    contexts: list[str] = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            contexts.append(paragraph["context"])
            questions.extend(qa["question"] for qa in paragraph["qas"])
    return questions, contexts


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def insert_attack(context: str, attack: str, position: str) -> str:
    """Plant `attack` at the start, middle (a sentence boundary) or end of `context`, as BIPIA does."""
    if position == "start":
        return f"{attack}\n{context}"
    if position == "end":
        return f"{context}\n{attack}"
    cuts = [m.end() for m in _SENTENCE_END.finditer(context)] or [len(context) // 2]
    cut = min(cuts, key=lambda c: abs(c - len(context) // 2))
    return f"{context[:cut]}\n{attack}\n{context[cut:]}"


POSITIONS = ("start", "middle", "end")


def _open(path: Path):  # type: ignore[no-untyped-def]
    try:
        return path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from exc


def _lines(path: Path) -> list[str]:
    with _open(path) as f:
        return [line for line in f if line.strip()]
