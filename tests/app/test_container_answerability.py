"""Which abstention evidence the container wires: the trained model when its folder is there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.container import Container
from app.settings import Settings
from generation.abstention import DEFAULT_MODEL
from generation.answerability import CALIBRATION, AnswerabilityModelInvalid, write_checksums
from generation.engines.scripted import ScriptedEngine


class ScoringEngine(ScriptedEngine):
    """A scripted engine that can also score the yes/no check."""

    def choice_logprobs(self, messages: object, choices: object) -> dict[str, float]:
        return {"yes": -0.1, "Yes": -9.0, "no": -3.0, "No": -9.0}


def _container(tmp_path: Path, folder: Path) -> Container:
    settings = Settings(data_dir=tmp_path / "data", answerability_model_dir=folder)  # type: ignore[call-arg]
    return Container(settings, engine=ScoringEngine(lambda messages: "ok"))


def test_without_a_trained_model_the_engine_check_decides(tmp_path: Path) -> None:
    abstainer = _container(tmp_path, tmp_path / "absent").abstainer
    assert abstainer is not None and abstainer.model == DEFAULT_MODEL


def test_a_damaged_model_folder_stops_start_up(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    write_checksums(folder)
    (folder / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(AnswerabilityModelInvalid):
        _ = _container(tmp_path, folder).abstainer


@pytest.mark.model
def test_a_trained_model_with_its_calibration_replaces_the_engine_check(tmp_path: Path) -> None:
    from eval.training.answerability import initial_model
    from retrieval.embedders import PACKAGED_MINILM, resolve_model_location
    from tests.generation.helpers import passage

    folder = tmp_path / "model"
    initial_model(resolve_model_location(PACKAGED_MINILM), max_length=32).save(folder)
    (folder / CALIBRATION).write_text(
        json.dumps({"weights": {"trained": 1.0}, "intercept": 0.0, "threshold": 0.5})
    )
    write_checksums(folder)
    abstainer = _container(tmp_path, folder).abstainer
    assert abstainer is not None
    assert abstainer.model.needs_trained() and not abstainer.model.needs_support()

    decision = abstainer.decide("How long is the Nile?", [passage("The Nile is 6,650 km long.")])
    assert decision.evidence.trained is not None and decision.evidence.support is None
