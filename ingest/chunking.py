"""Structure-aware chunking: a heading starts a new chunk, and chunks stay under a token budget.

With an overlap, a chunk that continues the previous one's section starts with that chunk's last
sentences (at most `overlap` tokens, counted in its budget), so a passage cut at a chunk border is whole
in one of them. Overlap never crosses a heading and never enters or leaves a table.

A table is never split: one over the budget becomes a chunk of its own, and the heading just before it
(when nothing else stands between them) stays with it; only such chunks exceed the budget.
Offsets refer to the document's extracted text: its blocks joined by blank lines (`extracted_text`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.loaders import Block
from retrieval.types import ChunkDraft

BLOCK_SEPARATOR = "\n\n"
CountTokens = Callable[[Sequence[str]], list[int]]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    tokens: int
    page: int | None
    section: str | None
    heading: int  # which heading the span falls under (0: none yet); a new heading starts a new chunk
    kind: str = "text"  # "title", "table" (never split), "text", or "overlap" (repeated from before)


def extracted_text(blocks: Sequence[Block]) -> str:
    """The document's text as chunk offsets count it."""
    return BLOCK_SEPARATOR.join(b.text for b in blocks)


def chunk_blocks(
    blocks: Sequence[Block], count_tokens: CountTokens, max_tokens: int, overlap: int = 0
) -> list[ChunkDraft]:
    """Group blocks into chunks of at most `max_tokens`, never across a heading; split text, never tables.

    A chunk that continues a section repeats up to `overlap` tokens of the previous chunk's end.
    """
    if not 0 <= overlap < max_tokens:
        raise ValueError(f"overlap must be in [0, {max_tokens}), not {overlap}")
    text = extracted_text(blocks)
    spans = _block_spans(blocks, count_tokens, max_tokens, overlap)
    drafts: list[ChunkDraft] = []
    group: list[_Span] = []
    for span in spans:
        starts_section = bool(group) and span.heading != group[-1].heading
        too_big = bool(group) and sum(s.tokens for s in group) + span.tokens > max_tokens
        if too_big and _heading_of_table(group, span):
            too_big = False
        if starts_section or too_big:
            carried = _carry(text, group, span, count_tokens, overlap) if too_big else None
            if any(s.kind != "overlap" for s in group):
                drafts.append(_draft(text, group))
            fits = carried is not None and carried.tokens + span.tokens <= max_tokens
            group = [carried] if carried is not None and fits else []
        group.append(span)
    if group:
        drafts.append(_draft(text, group))
    return drafts


def _carry(
    text: str, group: list[_Span], nxt: _Span, count_tokens: CountTokens, overlap: int
) -> _Span | None:
    """The end of the group that the next chunk repeats: whole sentences when they fit, else words."""
    last = group[-1]
    if overlap == 0 or last.kind != "text" or nxt.kind != "text":
        return None
    piece = text[last.start : last.end]
    words = [m.start() for m in re.finditer(r"\S+", piece) if m.start() > 0][-overlap:]
    if not words:
        return None
    sentences = {m.end() for m in _SENTENCE_END.finditer(piece)}
    counts = count_tokens([piece[w:] for w in words])
    fitting = [(w, n) for w, n in zip(words, counts, strict=True) if n <= overlap]
    if not fitting:
        return None
    start, tokens = next(((w, n) for w, n in fitting if w in sentences), fitting[0])
    return _Span(last.start + start, last.end, tokens, last.page, last.section, last.heading, "overlap")


def _heading_of_table(group: list[_Span], span: _Span) -> bool:
    """Whether the group is only the heading right before this table: it stays with the table."""
    return span.kind == "table" and all(s.kind == "title" and s.heading == span.heading for s in group)


def _draft(text: str, group: list[_Span]) -> ChunkDraft:
    start, end = group[0].start, group[-1].end
    return ChunkDraft(text[start:end], group[0].page, group[0].section, start, end)


def _block_spans(
    blocks: Sequence[Block], count_tokens: CountTokens, max_tokens: int, overlap: int = 0
) -> list[_Span]:
    """One span per block (pieces of it when it is too long, unless a table), knowing page and section.

    Pieces leave room for the overlap the next chunk starts with.
    """
    counts = count_tokens([b.text for b in blocks])
    spans: list[_Span] = []
    trail: list[tuple[int, str]] = []
    offset = heading = 0
    for block, tokens in zip(blocks, counts, strict=True):
        if block.is_title:
            heading += 1
            trail = [(d, t) for d, t in trail if d < block.depth] + [(block.depth, block.text)]
        section = " > ".join(t for _, t in trail) or None
        kind = "title" if block.is_title else "table" if block.is_table else "text"
        if tokens <= max_tokens or block.is_table:
            spans.append(_Span(offset, offset + len(block.text), tokens, block.page, section, heading, kind))
        else:
            for start, end, n in _split(block.text, count_tokens, max_tokens - overlap):
                spans.append(_Span(offset + start, offset + end, n, block.page, section, heading))
        offset += len(block.text) + len(BLOCK_SEPARATOR)
    return spans


def _split(text: str, count_tokens: CountTokens, max_tokens: int) -> list[tuple[int, int, int]]:
    """Split a long text into (start, end, tokens) pieces at sentence ends, else at word boundaries."""
    units = _units(text, count_tokens, max_tokens)
    pieces: list[tuple[int, int, int]] = []
    start, end, used = units[0][0], units[0][0], 0
    for u_start, u_end, n in units:
        if used and used + n > max_tokens:
            pieces.append((start, end, used))
            start, used = u_start, 0
        end, used = u_end, used + n
    pieces.append((start, end, used))
    return pieces


def _units(text: str, count_tokens: CountTokens, max_tokens: int) -> list[tuple[int, int, int]]:
    """Sentences as (start, end, tokens); a sentence over the budget becomes word windows."""
    bounds = [0] + [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    sentences = [(a, b) for a, b in itertools.pairwise(bounds) if text[a:b].strip()]
    counts = count_tokens([text[a:b] for a, b in sentences])
    units: list[tuple[int, int, int]] = []
    for (a, b), n in zip(sentences, counts, strict=True):
        if n <= max_tokens:
            units.append((a, b, n))
            continue
        words = [(m.start() + a, m.end() + a) for m in re.finditer(r"\S+\s*", text[a:b])]
        per_window = max(1, len(words) * max_tokens // (n + 1))
        for i in range(0, len(words), per_window):
            w_start, w_end = words[i][0], words[min(i + per_window, len(words)) - 1][1]
            units.append((w_start, w_end, count_tokens([text[w_start:w_end]])[0]))
    return units
