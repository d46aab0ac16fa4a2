"""A conversation's default title (the rule for titles a client gives is `app.names.check_title`)."""

from __future__ import annotations

import unicodedata

DEFAULT_TITLE = "New conversation"


def title_from_question(question: str) -> str:
    """A title made from the first question: its first line, printable, cut at a word near 60 characters."""
    text = "".join(ch if not unicodedata.category(ch).startswith("C") else " " for ch in question)
    text = " ".join(text.split())
    if len(text) > 60:
        text = text[:60].rsplit(" ", 1)[0] + "…"
    return text or DEFAULT_TITLE
