"""Split a passage into the segments the context filter scores: lines, then sentences."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z\"'(])")
_MIN_CHARS = 3


def split_segments(text: str) -> list[str]:
    """Non-empty lines, each split at sentence ends; fences and one-character lines dropped."""
    out: list[str] = []
    for line in text.splitlines():
        for piece in _SENTENCE_END.split(line.strip()):
            piece = piece.strip()
            if len(piece) >= _MIN_CHARS and not piece.startswith("```"):
                out.append(piece)
    return out


def prose_segments(text: str) -> list[str]:
    """The segments of `text` outside ``` code fences."""
    prose = [part for i, part in enumerate(text.split("```")) if i % 2 == 0]
    return [s for part in prose for s in split_segments(part)]
