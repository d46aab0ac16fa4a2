"""What the CLI prints stays whole whatever the terminal's width: errors are plain lines, never a box."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app


def test_an_error_naming_a_long_path_prints_it_on_one_line(tmp_path: Path) -> None:
    deep = tmp_path / ("a-folder-name-long-enough-to-cross-any-line-end-" * 3)
    deep.mkdir()
    not_a_run = deep / "squad.json"
    not_a_run.write_text(json.dumps({"data": []}))
    for columns in ("40", "200"):
        command = ["eval", "rescore-qa", str(not_a_run), "--out", str(tmp_path / "out.json")]
        result = CliRunner().invoke(app, command, env={"COLUMNS": columns})
        assert result.exit_code == 2
        expected = f"Error: Invalid value: {not_a_run}: not an `eval qa` result"
        assert any(line.startswith(expected) for line in result.output.splitlines()), result.output


def test_a_table_piped_out_keeps_its_cells_whole(tmp_path: Path) -> None:
    env = {"VERITY_DATA_DIR": str(tmp_path), "COLUMNS": "30"}
    runner = CliRunner()
    grant = ["credits", "grant", "--tenant", "a-tenant-with-a-long-name", "--amount", "7"]
    assert runner.invoke(app, [*grant, "--idempotency-key", "order-with-a-long-key"], env=env).exit_code == 0
    history = runner.invoke(app, ["credits", "history", "--tenant", "a-tenant-with-a-long-name"], env=env)
    assert "order-with-a-long-key" in history.stdout
