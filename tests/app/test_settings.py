from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_environment_variables_with_the_verity_prefix_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", "/tmp/somewhere")
    monkeypatch.setenv("VERITY_TOP_K", "7")
    monkeypatch.setenv("TOP_K", "9")
    settings = Settings()
    assert settings.data_dir == Path("/tmp/somewhere") and settings.top_k == 7
    assert settings.catalog_path == Path("/tmp/somewhere/catalog.sqlite3")


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VERITY_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = Settings()
    assert settings.data_dir == tmp_path / ".local" / "share" / "verity"
    monkeypatch.chdir(tmp_path / ".." if (tmp_path / "..").is_dir() else tmp_path)
    assert Settings().data_dir == settings.data_dir, "the data directory does not depend on where it runs"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings().data_dir == tmp_path / "xdg" / "verity"
    assert settings.llm_model == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert settings.reranker_model is None and settings.llm_threads == 0  # adaptive


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERITY_TOP_K", "0")
    with pytest.raises(ValidationError):
        Settings()
