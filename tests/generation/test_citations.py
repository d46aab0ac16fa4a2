from __future__ import annotations

import dataclasses

from generation.citations import cited_numbers, entity_terms, find_citations, sentences, verify_citations
from tests.generation.helpers import passage

DUCKS = passage("Ducks eat grasses, aquatic plants, fish, insects and small molluscs.", 1)
GEESE = passage("Geese migrate south in large flocks every autumn.", 2)


def test_cited_numbers_reads_single_and_grouped_markers_in_order() -> None:
    assert cited_numbers("A [2]. B [1, 3]. C [2].") == [2, 1, 3]


def test_marker_only_fragment_joins_previous_sentence() -> None:
    assert sentences("Ducks eat fish. [1], [2]") == ["Ducks eat fish. [1], [2]"]


def test_supported_marker_is_kept_and_unsupported_marker_dropped() -> None:
    citations = find_citations("Ducks eat aquatic plants and insects. [1] [2]", [DUCKS, GEESE])
    assert [(c.number, c.method) for c in citations] == [(1, "marker")]


def test_sentence_without_marker_is_attributed_by_overlap() -> None:
    citations = find_citations("Geese migrate south in flocks every autumn.", [DUCKS, GEESE])
    assert [(c.number, c.method) for c in citations] == [(2, "overlap")]


def test_wrong_marker_is_corrected_to_the_supporting_passage() -> None:
    citations = find_citations("Geese migrate south in large flocks. [1]", [DUCKS, GEESE])
    assert [(c.number, c.method) for c in citations] == [(2, "overlap")]


def test_out_of_range_marker_and_unrelated_text_give_no_citation() -> None:
    assert find_citations("The stock market fell sharply today. [7]", [DUCKS, GEESE]) == []


def test_markers_after_a_full_stop_belong_to_the_sentence_before() -> None:
    assert sentences("Ducks eat fish. [1] Geese fly. [2][3] Swans glide [4]. [5]") == [
        "Ducks eat fish. [1]",
        "Geese fly. [2][3]",
        "Swans glide [4]. [5]",
    ]


def test_a_sentence_that_only_names_its_source_lends_its_marker_to_the_claim_before() -> None:
    answer = "Ducks eat aquatic plants and insects. This is stated in source [1]."
    assert sentences(answer) == [answer]
    checked = verify_citations(answer, [GEESE, DUCKS])
    assert [s.numbers for s in checked.sentences] == [(2,)] and checked.sentences[0].corrected_markers == (1,)
    # an opening sentence that claims nothing is not checked, and cites nothing
    parroted = verify_citations("The sources above hold the answer. [1]", [DUCKS])
    assert parroted.sentences == [] and parroted.citations == []


def test_a_corrected_marker_is_rewritten_in_the_answer_and_the_model_text_is_kept() -> None:
    answer = "Ducks eat aquatic plants and insects. [2] Geese migrate south every autumn. [7]"
    checked = verify_citations(answer, [DUCKS, GEESE])
    assert checked.text == "Ducks eat aquatic plants and insects. [1] Geese migrate south every autumn. [2]"
    first, second = checked.sentences
    assert (first.raw_text, first.original_markers) == ("Ducks eat aquatic plants and insects. [2]", (2,))
    assert first.corrected_markers == (2,) and first.numbers == (1,)
    assert second.invalid_markers == (7,) and second.text.endswith("autumn. [2]")


def test_markers_of_an_unsupported_sentence_are_removed_from_the_answer() -> None:
    checked = verify_citations("The stock market fell sharply today. [1], [2]", [DUCKS, GEESE])
    assert checked.text == "The stock market fell sharply today."
    assert checked.sentences[0].original_markers == (1, 2) and not checked.sentences[0].supported


def test_right_markers_leave_the_text_as_the_model_wrote_it() -> None:
    answer = "Ducks eat fish [1].\nGeese migrate south in large flocks. [2]"
    assert verify_citations(answer, [DUCKS, GEESE]).text == answer


def test_a_wrong_number_among_the_passage_words_is_not_supported() -> None:
    table = passage("| region | change |\n| --- | --- |\n| North | -3 |\n| South | 12 |", 1)
    wrong = verify_citations("The change for the North region was 9. [1]", [table])
    assert not wrong.sentences[0].supported and wrong.sentences[0].missing_terms == ("9",)
    assert wrong.sentences[0].check == "lexical+entities" and wrong.citations[0].verified is False
    assert (
        verify_citations("The change for the North region was 9. [1]", [table], entities=False)
        .sentences[0]
        .supported
    ), "the words-only check let it through"
    right = verify_citations("The change for the North region was -3. [1]", [table])
    assert right.sentences[0].supported and right.sentences[0].numbers == (1,)


def test_a_wrong_name_is_not_supported_and_openers_are_not_names() -> None:
    bowl = passage("The Denver Broncos defeated the Carolina Panthers 24-10 to earn the title.", 1)
    right = verify_citations("The Denver Broncos defeated the Carolina Panthers. [1]", [bowl])
    assert right.sentences[0].supported
    swapped = verify_citations("The Denver Broncos defeated the Oakland Raiders. [1]", [bowl]).sentences[0]
    assert not swapped.supported and swapped.missing_terms == ("oakland", "raiders")
    assert entity_terms("However, the 1,000 Normans of Hervé's army. [3]") == {"1000", "normans", "herve"}


def test_checks_made_already_are_reused_only_for_the_same_sentence() -> None:
    answer = "Ducks eat aquatic plants and insects. [2] Geese migrate south every autumn. [2]"
    first = verify_citations(answer, [DUCKS, GEESE])
    known = [(check, [c for c in first.citations if c.number in check.numbers]) for check in first.sentences]
    again = verify_citations(answer, [DUCKS, GEESE], known=known)
    assert all(a is b for a, b in zip(again.sentences, first.sentences, strict=True))
    assert again.text == first.text and again.citations == first.citations
    # a known check of another sentence (the text changed, e.g. redacted) is not reused: it is checked again
    changed = verify_citations("Geese migrate south every autumn. [1]", [DUCKS, GEESE], known=known[:1])
    assert changed.sentences[0] is not first.sentences[0] and changed.sentences[0].numbers == (2,)


def test_a_compressed_passage_is_checked_as_the_reader_opens_it() -> None:
    whole = "The bridge at Kelso has five arches. It was built in 1754 by John Smeaton. Tourists visit."
    kept_end = whole.index(" It was")
    shown = dataclasses.replace(
        passage(whole),
        chunk=dataclasses.replace(passage(whole).chunk, text=whole[:kept_end]),
        kept=((0, kept_end),),
        whole_text=whole,
    )
    verification = verify_citations("John Smeaton built it in 1754 [1].", [shown])
    (check,) = verification.sentences
    assert check.supported and check.numbers == (1,)
    (citation,) = verification.citations
    assert whole[citation.span_start : citation.span_end] == "It was built in 1754 by John Smeaton."
