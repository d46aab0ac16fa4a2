"""The trained answerability model's folder (checksums, safetensors only) and its use by the abstainer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from generation.abstention import Abstainer, AbstentionModel, trained_abstention
from generation.answerability import (
    CHECKSUMS,
    AnswerabilityModelInvalid,
    load_cross_encoder,
    passage_sentences,
    split_sentences,
    verify_checksums,
    write_checksums,
)
from generation.errors import CalibrationInvalid
from retrieval.types import Passage
from tests.generation.helpers import passage


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("model.safetensors", "config.json", "head.safetensors", "tokenizer.json"):
        (folder / name).write_bytes(name.encode() * 3)
    write_checksums(folder)
    return folder


def test_checksums_written_for_every_file_verify(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    verify_checksums(folder)
    assert len((folder / CHECKSUMS).read_text().splitlines()) == 4


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: (f / "model.safetensors").write_bytes(b"tampered"),
        lambda f: (f / "extra.bin").write_bytes(b"pickle"),
        lambda f: (f / "head.safetensors").unlink(),
        lambda f: (f / CHECKSUMS).unlink(),
        lambda f: (f / CHECKSUMS).write_text("garbage\n"),
    ],
    ids=["changed", "unlisted file", "missing file", "no checksums", "malformed"],
)
def test_a_damaged_folder_is_refused_before_anything_loads(tmp_path: Path, damage: object) -> None:
    folder = _folder(tmp_path)
    damage(folder)  # type: ignore[operator]
    with pytest.raises(AnswerabilityModelInvalid):
        load_cross_encoder(folder)


def test_missing_folder_means_the_built_in_model(tmp_path: Path) -> None:
    assert trained_abstention(tmp_path / "absent") is None
    with pytest.raises(AnswerabilityModelInvalid, match="train-answerability"):
        load_cross_encoder(tmp_path / "absent")


def test_sentences_of_passages() -> None:
    assert split_sentences("Geese fly. Ducks eat grasses and plants! Ok? Swans too.") == [
        "Geese fly. Ducks eat grasses and plants!",
        "Ok? Swans too.",
    ]
    assert passage_sentences([passage("The Nile is long. It flows north.")]) == [
        "The Nile is long.",
        "It flows north.",
    ]


class FixedAnswerability:
    def __init__(self, logit: float) -> None:
        self.logit = logit
        self.asked: list[str] = []

    def score(self, question: str, passages: Sequence[Passage]) -> float:
        self.asked.append(question)
        return self.logit


def test_the_abstainer_decides_on_the_trained_score_without_the_engine() -> None:
    model = AbstentionModel({"trained": 1.0}, 0.0, 0.5)
    sure, unsure = FixedAnswerability(3.0), FixedAnswerability(-3.0)
    yes = Abstainer(model, None, sure).decide("How long is the Nile?", [passage("The Nile is long.")])
    no = Abstainer(model, None, unsure).decide("How long is the Nile?", [passage("The Nile is long.")])
    assert (yes.answer, no.answer) == (True, False)
    assert yes.evidence.trained == 3.0 and yes.evidence.support is None
    assert sure.asked == ["How long is the Nile?"]


def test_a_model_using_the_trained_score_needs_it() -> None:
    with pytest.raises(CalibrationInvalid):
        Abstainer(AbstentionModel({"trained": 1.0}, 0.0, 0.5))


def test_the_trained_score_is_not_computed_when_the_model_ignores_it() -> None:
    scorer = FixedAnswerability(3.0)
    decision = Abstainer(AbstentionModel({"coverage": 1.0}, 0.0, 0.5), None, scorer).decide(
        "Nile?", [passage("The Nile is long.")]
    )
    assert scorer.asked == [] and decision.evidence.trained is None
