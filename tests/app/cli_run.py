"""Running the `verity` command in the test's own process, as a user would from a shell."""

from __future__ import annotations

import sys

import pytest

from app.cli import main


def verity(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """Run the `verity` command in this process: its exit code and everything it printed."""
    monkeypatch.setattr(sys, "argv", ["verity", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err
