"""The rule for a conversation's title (the project's free-text title rule).

Engineer `sec` is adding the project-wide name rules in `app/names.py`; until that lands here, this one
function holds the same rule: 1 to 200 characters of printable text, not only spaces.
"""

from __future__ import annotations

import unicodedata

TITLE_MAX = 200
TITLE_RULE = (
    f"a title is 1 to {TITLE_MAX} characters of printable text (no control characters), not only spaces"
)
DEFAULT_TITLE = "New conversation"


class InvalidTitle(ValueError):
    """A title that breaks the rule; the message quotes the rule."""


def check_title(value: str) -> str:
    """Return `value` if it is a valid title, else raise `InvalidTitle` quoting the rule."""
    controls = any(unicodedata.category(ch).startswith("C") for ch in value)
    if not value.strip() or len(value) > TITLE_MAX or controls:
        shown = value if len(value) <= 80 else value[:80] + "…"
        raise InvalidTitle(f"invalid title {shown!r}: {TITLE_RULE}")
    return value


def title_from_question(question: str) -> str:
    """A title made from the first question: its first line, printable, cut at a word near 60 characters."""
    text = "".join(ch if not unicodedata.category(ch).startswith("C") else " " for ch in question)
    text = " ".join(text.split())
    if len(text) > 60:
        text = text[:60].rsplit(" ", 1)[0] + "…"
    return text or DEFAULT_TITLE
