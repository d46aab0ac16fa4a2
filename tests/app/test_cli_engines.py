"""`verity engines` and `verity canary`: drain replicas, promote or roll back the canary."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.rollout import RolloutFile
from tests.app.cli_run import verity

A, B = "http://127.0.0.1:9", "http://127.0.0.1:7"  # nothing listens on the discard and echo ports


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RolloutFile:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VERITY_ENGINE_URLS", f'["{A}"]')
    monkeypatch.setenv("VERITY_CANARY_ENGINE_URLS", f'["{B}"]')
    monkeypatch.setenv("VERITY_CANARY_MODEL", "next")
    monkeypatch.setenv("VERITY_CANARY_SHARE", "0.2")
    return RolloutFile(tmp_path / "rollout.json", "next")


def test_drain_and_list_replicas(
    configured: RolloutFile, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verity(monkeypatch, capsys, "engines", "drain", A)
    assert code == 0 and A in out and configured.drained() == {A}
    code, out = verity(monkeypatch, capsys, "engines", "list")
    assert code == 0 and "DOWN" in out and "stable" in out and "canary" in out
    code, out = verity(monkeypatch, capsys, "engines", "drain", "http://elsewhere:1")
    assert code == 1 and "no replica 'http://elsewhere:1' is configured" in out
    assert verity(monkeypatch, capsys, "engines", "undrain", A)[0] == 0 and configured.drained() == set()


def test_canary_status_rollback_and_promote(
    configured: RolloutFile, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verity(monkeypatch, capsys, "canary", "status")
    assert code == 0 and "canary next: active, 20% of traffic" in out
    code, out = verity(monkeypatch, capsys, "canary", "rollback")
    assert code == 0 and "rolled_back, 0% of traffic" in out and "verity canary rollback" in out
    assert configured.decision() == "rolled_back"
    code, out = verity(monkeypatch, capsys, "canary", "promote")
    assert code == 0 and "promoted, 100% of traffic" in out and configured.decision() == "promoted"


def test_canary_commands_say_when_no_canary_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    code, out = verity(monkeypatch, capsys, "canary", "promote")
    assert code == 1 and "no canary is configured" in out
