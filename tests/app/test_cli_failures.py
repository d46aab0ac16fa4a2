"""Failures that speak, through the `verity` entry point itself (`app.cli.main`): nothing to ingest,
nothing ingested, bad settings and model names, each one line with its exit code, before any model loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.cli_run import verity


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VERITY_URL", raising=False)
    return tmp_path


def test_ingesting_nothing_says_what_was_passed_over_and_exits_non_zero(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty, odd = env / "empty", env / "odd"
    empty.mkdir()
    odd.mkdir()
    (odd / "photo.heic").write_bytes(b"\0")
    (odd / "archive.zip").write_bytes(b"PK")
    code, out = verity(monkeypatch, capsys, "ingest", str(empty))
    assert code == 1 and f"nothing to ingest in {empty}: the folders are empty" in out
    code, out = verity(monkeypatch, capsys, "ingest", str(odd))
    assert code == 1 and "nothing to ingest" in out
    assert "photo.heic (unsupported type .heic)" in out and "archive.zip (unsupported type .zip)" in out
    code, out = verity(monkeypatch, capsys, "ingest", str(env / "missing"))
    assert code == 1 and f"no such file or folder: {env / 'missing'}" in out


def test_asking_with_nothing_ingested_names_the_data_directory(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verity(monkeypatch, capsys, "ask", "What is in my notes?")
    assert code == 1 and f"nothing is ingested in {(env / 'data').resolve()}" in out


def test_a_wrong_setting_is_one_line_and_exit_code_2_with_the_traceback_only_when_verbose(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERITY_LLM_MODEL", "llama3")
    code, out = verity(monkeypatch, capsys, "ask", "What is in my notes?")
    assert code == 2 and "Traceback" not in out
    assert out.strip().splitlines() == [
        "VERITY_LLM_MODEL='llama3': model 'llama3' is neither a GGUF file nor a packaged model "
        "(qwen2.5-coder-0.5b-instruct-q4_k_m, qwen2.5-coder-1.5b-instruct-q4_k_m)"
    ]
    monkeypatch.setenv("VERITY_LLM_MODEL", "qwen2.5-coder-1.5b-instruct-q4_k_m")
    monkeypatch.setenv("VERITY_EMBEDDING_MODEL", "no-such-embedder")
    code, out = verity(monkeypatch, capsys, "ask", "What is in my notes?")
    assert code == 2 and len(out.strip().splitlines()) == 1
    assert out.startswith("VERITY_EMBEDDING_MODEL='no-such-embedder': embedding model")
    monkeypatch.delenv("VERITY_EMBEDDING_MODEL")
    monkeypatch.setenv("VERITY_TOP_K", "500")
    code, out = verity(monkeypatch, capsys, "ask", "What is in my notes?")
    assert code == 2 and out.strip() == (
        "invalid settings: VERITY_TOP_K='500': Input should be less than or equal to 50"
    )
    with pytest.raises(Exception, match="VERITY_TOP_K"):
        verity(monkeypatch, capsys, "--verbose", "ask", "What is in my notes?")


def test_version(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = verity(monkeypatch, capsys, "--version")
    assert code == 0 and out.startswith("verity ")
