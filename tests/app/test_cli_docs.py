"""`verity docs` and `verity collections` over a real data directory (SQLite, FAISS, BM25): listing,
showing and deleting, the last with no model loaded in the process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app.cli_run import verity
from tests.conftest import REPO

PROBE = (
    "import sys\nfrom app.cli import main\ntry:\n    main()\nfinally:\n"
    "    loaded = [m for m in ('llama_cpp', 'sentence_transformers') if m in sys.modules]\n"
    "    print('MODULES', loaded, file=sys.stderr)\n"
)


def ids_on_lines_with(listing: str, word: str) -> str:
    """The one document id on the listing's lines that name `word` (the listing's order is not fixed)."""
    found = [
        i for line in listing.splitlines() if word in line for i in re.findall(r"doc_[0-9a-f]{16}", line)
    ]
    assert len(found) == 1, listing
    return found[0]


def test_list_show_and_delete_documents_and_collections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VERITY_SAFETY", "off")
    monkeypatch.setenv("COLUMNS", "250")
    kitchen, garage = tmp_path / "kitchen.md", tmp_path / "garage.md"
    kitchen.write_text("# Kitchen\n\nThe kettle is in the second cupboard, behind the teapot.\n")
    garage.write_text("# Garage\n\nThe bicycles hang on hooks above the workbench.\n")
    assert verity(monkeypatch, capsys, "ingest", str(kitchen), "--collection", "house")[0] == 0
    assert verity(monkeypatch, capsys, "ingest", str(garage), "--collection", "shed")[0] == 0

    code, out = verity(monkeypatch, capsys, "docs", "list")
    ids = re.findall(r"doc_[0-9a-f]{16}", out)
    assert code == 0 and len(ids) == 2 and "house" in out and "shed" in out and "Kitchen" in out
    house_id, shed_id = (ids_on_lines_with(out, name) for name in ("house", "shed"))
    code, out = verity(monkeypatch, capsys, "docs", "list", "--collection", "shed")
    assert re.findall(r"doc_[0-9a-f]{16}", out) == [shed_id]
    code, out = verity(monkeypatch, capsys, "docs", "show", house_id)
    assert code == 0 and "second cupboard" in out and str(kitchen) in out
    code, out = verity(monkeypatch, capsys, "docs", "show", "doc_0000000000000000")
    assert code == 1 and "no document with id 'doc_0000000000000000'" in out
    code, out = verity(monkeypatch, capsys, "collections", "list")
    assert code == 0 and re.search(r"house +│ 1 +│ 1", out) and re.search(r"shed +│ 1 +│ 1", out)

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    deleting = subprocess.run(
        [sys.executable, "-c", PROBE, "docs", "delete", house_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deleting.returncode == 0, deleting.stderr
    assert f"deleted {house_id}" in deleting.stdout and "MODULES []" in deleting.stderr
    code, out = verity(monkeypatch, capsys, "docs", "list")
    assert re.findall(r"doc_[0-9a-f]{16}", out) == [shed_id]

    code, out = verity(monkeypatch, capsys, "collections", "delete", "sheds", "--yes")
    assert code == 1 and "no collection named 'sheds'; the collections are: shed" in out
    code, out = verity(monkeypatch, capsys, "collections", "delete", "shed", "--yes")
    assert code == 0 and "deleted collection 'shed' (1 documents)" in out
    code, out = verity(monkeypatch, capsys, "collections", "list")
    assert code == 0 and "no collections" in out
    code, out = verity(monkeypatch, capsys, "ask", "Where is the kettle?")
    assert code in (1, 2) and "Traceback" not in out
