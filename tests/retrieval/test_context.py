"""Context packing: passages in rank order under a token budget, too-big ones dropped whole."""

from __future__ import annotations

from retrieval.context import pack_context
from retrieval.types import Chunk, Passage


def passage(chunk_id: int, words: int) -> Passage:
    text = " ".join(f"w{chunk_id}x{i}" for i in range(words))
    chunk = Chunk(chunk_id, "doc", "default", "default", chunk_id, text, "a.md", None, None, 0, len(text))
    return Passage(chunk, 1.0 / chunk_id)


def count_words(text: str) -> int:
    return len(text.split())


def render(number: int, p: Passage) -> str:
    # "[n]" counts as one word, so a passage of w words costs w + 1 tokens
    return f"[{number}] {p.chunk.text}"


def ids(passages: list[Passage]) -> list[int]:
    return [p.chunk.id for p in passages]


def test_everything_fits_in_rank_order() -> None:
    ps = [passage(1, 3), passage(2, 4), passage(3, 5)]
    packed = pack_context(ps, 100, count_words, render)
    assert ids(packed.included) == [1, 2, 3]
    assert packed.dropped == []
    assert packed.tokens == 4 + 5 + 6
    assert packed.budget_tokens == 100


def test_too_big_passage_is_dropped_but_later_smaller_ones_fit() -> None:
    ps = [passage(1, 4), passage(2, 50), passage(3, 4), passage(4, 3)]
    packed = pack_context(ps, 12, count_words, render)
    assert ids(packed.included) == [1, 3]
    assert ids(packed.dropped) == [2, 4]
    assert packed.tokens == 10
    assert packed.tokens <= packed.budget_tokens


def test_numbers_passed_to_render_follow_included_passages() -> None:
    seen: list[tuple[int, int]] = []

    def recording_render(number: int, p: Passage) -> str:
        seen.append((number, p.chunk.id))
        return render(number, p)

    pack_context([passage(1, 2), passage(2, 99), passage(3, 2)], 10, count_words, recording_render)
    # the dropped passage 2 does not use up number 2
    assert seen == [(1, 1), (2, 2), (2, 3)]


def test_token_accounting_is_exact_sum_of_rendered_costs() -> None:
    ps = [passage(i, i) for i in range(1, 8)]
    packed = pack_context(ps, 20, count_words, render)
    expected = sum(count_words(render(n, p)) for n, p in enumerate(packed.included, start=1))
    assert packed.tokens == expected
    # 2 + 3 + 4 + 5 = 14; then 6 would make 20 exactly (fits), 7 and 8 no longer fit
    assert ids(packed.included) == [1, 2, 3, 4, 5]
    assert packed.tokens == 20
    assert ids(packed.dropped) == [6, 7]


def test_exact_fit_is_included() -> None:
    packed = pack_context([passage(1, 9)], 10, count_words, render)
    assert ids(packed.included) == [1]
    assert packed.tokens == 10
    packed = pack_context([passage(1, 10)], 10, count_words, render)
    assert packed.included == []


def test_budget_zero_includes_nothing() -> None:
    ps = [passage(1, 1), passage(2, 2)]
    packed = pack_context(ps, 0, count_words, render)
    assert packed.included == []
    assert ids(packed.dropped) == [1, 2]
    assert packed.tokens == 0
    assert packed.budget_tokens == 0


def test_no_passages() -> None:
    packed = pack_context([], 50, count_words, render)
    assert packed.included == [] and packed.dropped == [] and packed.tokens == 0
