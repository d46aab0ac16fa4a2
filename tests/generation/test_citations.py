from __future__ import annotations

from generation.citations import cited_numbers, find_citations, sentences, verify_citations
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
