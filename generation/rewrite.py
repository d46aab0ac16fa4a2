"""Follow-up questions made standalone for search: "and who opposed it?" -> "who opposed the 1965 act?".

A question that refers to nothing earlier (no pronoun, no ellipsis, enough words of its own) is searched
as it is, at no cost. Otherwise the engine rewrites it with a short prompt that starts like the answer
prompt (the system prompt, then the recent turns), so llama.cpp reuses the cached prefix. A reply that is
empty or runs on is not trusted: the search then uses the question after the previous question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from generation.engines.protocol import ChatMessage, Engine, GenerationParams
from generation.history import Turn, turn_messages
from generation.prompts import SYSTEM_PROMPT

REWRITE_INSTRUCTION = (
    "Rewrite the user's last question as one standalone question that can be understood without the "
    "conversation above: replace pronouns and vague references with the names they refer to. "
    "Reply with only the rewritten question."
)
RECENT_TURNS = 3
MIN_OWN_WORDS = 5
_LABEL = re.compile(r"^(rewritten question|standalone question|question|query)\s*:\s*", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9']+")
_REFERRING_WORDS = """he she it its it's they them their theirs his her hers him this that these those
there then such former latter one ones same other another else also too either neither both"""
_REFERRING = frozenset(_REFERRING_WORDS.split())
_OPENERS = ("and ", "but ", "so ", "what about", "how about")
_STOP_WORDS = """a an the of in on at to for by with from is are was were be been do does did what which who
whom whose when where why how and or but not no yes"""
_CONTENT_STOP = frozenset(_STOP_WORDS.split())

Method = Literal["none", "unchanged", "engine", "fallback"]


@dataclass(frozen=True)
class SearchQuery:
    """A follow-up made standalone. `text` is the standalone question (what is judged and answered);
    `searched` is what retrieval looks for: after a rewrite, the standalone question followed by the
    previous one, which keeps the conversation's subject in the search when the rewrite missed a
    reference. `method`: `none` (no history), `unchanged` (the question needed no rewrite), `engine`
    (rewritten by the model) or `fallback` (the model's reply was not usable)."""

    text: str
    method: Method
    searched: str = ""

    def __post_init__(self) -> None:
        if not self.searched:
            object.__setattr__(self, "searched", self.text)


def needs_rewrite(question: str) -> bool:
    """Whether a follow-up may lean on earlier turns: a referring word, an opener, or too few own words."""
    words = [w.lower() for w in _WORD.findall(question)]
    if any(w in _REFERRING for w in words):
        return True
    own = [w for w in words if w not in _CONTENT_STOP]
    return len(own) < MIN_OWN_WORDS or question.strip().lower().startswith(_OPENERS)


def rewrite_messages(question: str, history: Sequence[Turn]) -> list[ChatMessage]:
    """The rewrite prompt: system prompt, recent turns, then the question and the instruction."""
    recent = turn_messages(history[-RECENT_TURNS:])
    user = f"Question: {question.strip()}\n\n{REWRITE_INSTRUCTION}"
    return [ChatMessage("system", SYSTEM_PROMPT), *recent, ChatMessage("user", user)]


def clean_rewrite(reply: str, question: str) -> str | None:
    """The first line of the model's reply without labels or quotes; None when unusable."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return None
    text = _LABEL.sub("", lines[0])
    text = text.strip().strip('"').strip("'").strip()
    limit = 3 * len(question.split()) + 30
    return text if 0 < len(text.split()) <= limit else None


class QueryRewriter:
    """Makes a follow-up standalone with the engine, or leaves it when it needs nothing."""

    def __init__(self, engine: Engine, max_tokens: int = 64) -> None:
        self._engine = engine
        self._params = GenerationParams(max_tokens=max_tokens, temperature=0.0, stop=("\n",))

    def cheap(self, question: str, history: Sequence[Turn]) -> SearchQuery | None:
        """The query when no model is needed (no history, or nothing to resolve); None otherwise."""
        if not history:
            return SearchQuery(question, "none")
        if not needs_rewrite(question):
            return SearchQuery(question, "unchanged")
        return None

    def standalone(self, question: str, history: Sequence[Turn]) -> SearchQuery:
        """The query to search for `question` asked after `history` (oldest first)."""
        cheap = self.cheap(question, history)
        if cheap is not None:
            return cheap
        messages = rewrite_messages(question, history)
        if self._engine.count_prompt_tokens(messages) + self._params.max_tokens > self._engine.context_window:
            messages = rewrite_messages(question, history[-1:])
        reply = "".join(self._engine.stream(messages, self._params))
        text = clean_rewrite(reply, question)
        previous = history[-1].standalone or history[-1].question
        if text is None:
            return SearchQuery(question, "fallback", f"{question} {previous}")
        return SearchQuery(text, "engine", f"{text} {previous}")
