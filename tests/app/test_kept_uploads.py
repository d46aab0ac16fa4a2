"""Kept uploads: paths of server-made keys only, and the move from the old layout (paths of names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import kept_uploads
from app.safe_paths import UnsafePath, check_inside, inside, name_key, safe_suffix
from tests.app.test_http_security import NOTE, fast_container, served


def test_paths_are_made_of_keys_and_stay_under_their_root(tmp_path: Path) -> None:
    assert inside(tmp_path, name_key("../x"), "doc_0123.pdf") == tmp_path.resolve() / name_key("../x") / (
        "doc_0123.pdf"
    )
    for part in ("..", ".", "a/b", "/etc", "a\x00", "", "x" * 80, "C:\\x"):
        with pytest.raises(UnsafePath):
            inside(tmp_path, part)
    with pytest.raises(UnsafePath):
        check_inside(tmp_path / "a", tmp_path / "a" / ".." / "b")
    assert safe_suffix("report.PDF") == ".pdf" and safe_suffix("x.tar.gz") == ".gz"
    assert safe_suffix(".bashrc") == "" and safe_suffix("a.p/df") == "" and safe_suffix("noext") == ""


def test_uploads_kept_by_name_are_moved_to_id_paths_at_start_and_deleted_with_their_document(
    tmp_path: Path,
) -> None:
    container = fast_container(tmp_path)
    source = tmp_path / "notes.md"
    source.write_bytes(NOTE)
    filed = container.ingest_pipeline.ingest_file(source, "notes.md", "default", "demo")
    hostile = container.ingest_pipeline.ingest_file(source, "keep.txt", "default", "../../outside")
    assert filed.document is not None and hostile.document is not None
    uploads = container.settings.uploads_dir
    legacy = uploads / "default" / "demo" / "notes.md"  # where earlier versions kept it
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(NOTE)
    outside = uploads / "default" / ".." / ".." / "outside" / "keep.txt"  # an old name leading out
    outside = outside.resolve()
    assert not outside.is_relative_to(uploads.resolve())
    outside.parent.mkdir()
    outside.write_bytes(b"not ours\n")
    for client in served(container):
        kept = kept_uploads.kept_path(uploads, filed.document)
        assert kept.read_bytes() == NOTE and not legacy.exists() and not (uploads / "default").exists()
        assert outside.read_bytes() == b"not ours\n"
        deleted = client.delete(f"/v1/documents/{filed.document.id}")
        assert deleted.status_code == 200 and not kept.exists()
