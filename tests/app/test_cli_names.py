"""The CLI checks names with the same rules as the API: refused before anything is stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "300")
    return tmp_path / "data"


@pytest.mark.parametrize("collection", ["../other", "/etc", "a b", "a\x00b", "x" * 65])
def test_ingest_refuses_a_collection_name_that_breaks_the_rule(
    data_dir: Path, tmp_path: Path, collection: str
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nDucks eat grasses.\n")
    result = runner.invoke(app, ["ingest", str(note), "--collection", collection])
    assert result.exit_code == 2, result.output
    assert "ASCII letters, digits" in " ".join(result.output.split())
    assert not data_dir.exists(), "nothing was stored"


def test_keys_and_credits_refuse_a_tenant_name_that_breaks_the_rule(data_dir: Path) -> None:
    created = runner.invoke(app, ["keys", "create", "--tenant", "../acme"])
    assert created.exit_code == 2 and "tenant name" in " ".join(created.output.split()), created.output
    granted = runner.invoke(app, ["credits", "grant", "--tenant", "acme", "--amount", str(2**64)])
    assert granted.exit_code == 2 and "out of range" in " ".join(granted.output.split()), granted.output
