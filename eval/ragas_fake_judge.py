"""A deterministic stand-in for the LLM judge, for tests: it reads the prompt's input and decides by word
overlap. It answers the five schemas ragas' faithfulness, response relevancy, context precision and
context recall ask for, so the whole scoring path runs without a model (`JsonCompleter` signature).
"""

from __future__ import annotations

import json
import re
import typing as t

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "is",
        "was",
        "were",
        "are",
        "be",
        "by",
        "for",
        "and",
        "or",
        "it",
        "its",
        "as",
        "with",
        "from",
    ]
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def supported(claim: str, context: str) -> int:
    """1 when at least half the claim's content words occur in the context."""
    words = _words(claim)
    return int(bool(words) and len(words & _words(context)) * 2 >= len(words))


def prompt_input(prompt: str) -> dict[str, t.Any]:
    """The JSON input a ragas prompt ends with (after its last 'input:')."""
    body = prompt.rsplit("input:", 1)[1].rsplit("Output:", 1)[0]
    return t.cast(dict[str, t.Any], json.loads(body))


def overlap_judge(prompt: str, schema: dict[str, t.Any], attempt: int) -> str:
    """The JSON a careful but literal judge would give, by word overlap."""
    data = prompt_input(prompt)
    title = schema.get("title", "")
    context = str(data.get("context", ""))
    if title == "StatementGeneratorOutput":
        return json.dumps({"statements": [data["answer"]]})
    if title == "NLIStatementOutput":
        verdicts = [
            {"statement": s, "reason": "overlap", "verdict": supported(s, context)}
            for s in data["statements"]
        ]
        return json.dumps({"statements": verdicts})
    if title == "AnswerRelevanceOutput":
        return json.dumps({"question": data["response"], "noncommittal": 0})
    if title == "ContextPrecisionOutput":
        return json.dumps({"reason": "overlap", "verdict": supported(data["answer"], context)})
    if title == "ContextRecallOutput":
        claim = data["answer"]
        return json.dumps(
            {
                "classifications": [
                    {"statement": claim, "reason": "overlap", "attributed": supported(claim, context)}
                ]
            }
        )
    raise ValueError(f"the overlap judge does not know the schema {title!r}")
