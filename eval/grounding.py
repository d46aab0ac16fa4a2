"""How well the citation check separates right answers from wrong ones, on SQuAD 2.0, with no model.

For each answerable question whose first gold answer is a number, a date or a name (it has a digit, or
a capitalised word), two claims are built from its paragraph, each in a right and a wrong version:
- `passage_sentence`: the paragraph's sentence that holds the answer, verbatim (right), and the same
  sentence with the answer swapped for another gold answer of the same kind from the same article
  (wrong);
- `question_answer`: the question followed by the answer ("In what country is Normandy located: France."),
  closer to what a model writes, right and swapped.
A swap is only made with an answer whose numbers or names do not all occur in the paragraph (a check by
presence cannot see the others; how many questions that skips is reported). Each claim is checked
against its paragraph by `generation.citations.check_sentence`, words only (`lexical`, the check
before) and words with numbers and names (`lexical+entities`); the report gives the supported rate of
each.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eval.errors import DatasetError
from generation.citations import check_sentence, entity_terms, passage_terms
from retrieval.types import Chunk, Passage

Kind = Literal["number", "name"]
CLAIMS = ("passage_sentence", "question_answer")
CHECKS = {"lexical": False, "lexical+entities": True}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class GroundingCase:
    """One question's claims: right (with the gold answer) and wrong (with `swap` instead)."""

    question_id: str
    kind: Kind
    context: str
    gold: str
    swap: str
    claims: dict[str, tuple[str, str]]


def answer_kind(answer: str) -> Kind | None:
    """ "number" when the answer has a digit, "name" when it has a capitalised word, else None."""
    if any(ch.isdigit() for ch in answer):
        return "number"
    if entity_terms(f"x {answer}"):
        return "name"
    return None


def sentence_at(context: str, offset: int) -> tuple[int, int]:
    """Start and end of the sentence of `context` holding character `offset`."""
    start = 0
    for match in _SENTENCE_END.finditer(context):
        if match.start() >= offset:
            return start, match.start()
        start = match.end()
    return start, len(context)


def build_cases(path: Path, seed: int = 0) -> tuple[list[GroundingCase], dict[str, int]]:
    """The cases of a SQuAD 2.0 file, and how many answerable questions were skipped and why."""
    try:
        articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path}: not a SQuAD 2.0 JSON file ({exc})") from exc
    rng = random.Random(seed)
    cases: list[GroundingCase] = []
    skipped = {"not_a_number_or_name": 0, "no_swap_absent_from_paragraph": 0}
    for article in articles:
        golds = [(qa, p["context"]) for p in article["paragraphs"] for qa in p["qas"] if qa["answers"]]
        pools: dict[Kind, list[str]] = {"number": [], "name": []}
        for qa, _ in golds:
            kind = answer_kind(qa["answers"][0]["text"])
            if kind is not None:
                pools[kind].append(qa["answers"][0]["text"])
        for qa, context in golds:
            case = _case(qa, context, pools, rng)
            if isinstance(case, str):
                skipped[case] += 1
            else:
                cases.append(case)
    return cases, skipped


def _case(
    qa: dict[str, object], context: str, pools: dict[Kind, list[str]], rng: random.Random
) -> GroundingCase | str:
    answer = qa["answers"][0]  # type: ignore[index]
    gold, offset = str(answer["text"]), int(answer["answer_start"])
    kind = answer_kind(gold)
    if kind is None:
        return "not_a_number_or_name"
    present = passage_terms(context)
    options = sorted({a for a in pools[kind] if a != gold and not entity_terms(f"x {a}") <= present})
    if not options:
        return "no_swap_absent_from_paragraph"
    swap = rng.choice(options)
    start, end = sentence_at(context, offset)
    sentence = context[start:end]
    at = offset - start
    wrong_sentence = sentence[:at] + swap + sentence[at + len(gold) :]
    question = str(qa["question"]).strip().rstrip("?").strip()
    claims = {
        "passage_sentence": (sentence, wrong_sentence),
        "question_answer": (f"{question}: {gold}.", f"{question}: {swap}."),
    }
    return GroundingCase(str(qa["id"]), kind, context, gold, swap, claims)


def supported(claim: str, context: str, entities: bool) -> bool:
    """Whether the citation check finds `claim` supported by a passage holding `context`."""
    chunk = Chunk(0, "doc", "eval", "eval", 0, context, "squad", None, None, 0, len(context))
    result = check_sentence(claim, [Passage(chunk, 1.0)], entities)
    return result is not None and result[0].supported


def score_cases(cases: Sequence[GroundingCase]) -> dict[str, object]:
    """Supported rates of right and wrong claims, by claim kind, check and answer kind."""
    rates: dict[str, object] = {}
    for claim in CLAIMS:
        for check, entities in CHECKS.items():
            for subset in ("all", "number", "name"):
                chosen = [c for c in cases if subset in ("all", c.kind)]
                right = [supported(c.claims[claim][0], c.context, entities) for c in chosen]
                wrong = [supported(c.claims[claim][1], c.context, entities) for c in chosen]
                rates[f"{claim}/{check}/{subset}"] = {
                    "n": len(chosen),
                    "right_supported": _rate(right),
                    "wrong_supported": _rate(wrong),
                }
    return rates


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def evaluate_grounding(path: Path, seed: int = 0) -> dict[str, object]:
    """The whole report: cases built, questions skipped, rates, and two example cases."""
    cases, skipped = build_cases(path, seed)
    examples = [
        {"question_id": c.question_id, "gold": c.gold, "swap": c.swap, "claims": c.claims} for c in cases[:2]
    ]
    return {
        "dataset": str(path),
        "seed": seed,
        "cases": len(cases),
        "by_kind": {k: sum(c.kind == k for c in cases) for k in ("number", "name")},
        "skipped": skipped,
        "rates": score_cases(cases),
        "examples": examples,
    }
