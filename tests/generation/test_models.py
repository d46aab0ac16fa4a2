from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from generation.errors import ModelCorrupt, ModelNotFound
from generation.models import QWEN_0_5B, QWEN_1_5B, PackagedGGUF, assemble, resolve_model_path


def fake_parts(root: Path, prefix: str, chunks: list[bytes]) -> None:
    for number, data in enumerate(chunks, start=1):
        package = root / f"{prefix}{number}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{number:02d}.bin").write_bytes(data)


@pytest.fixture
def packaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PackagedGGUF:
    chunks = [b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7]
    whole = b"".join(chunks)
    fake_parts(tmp_path / "site", "fakemodel_part", chunks)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return PackagedGGUF("fake", "fakemodel_part", 3, len(whole), hashlib.sha256(whole).hexdigest(), "pip x")


def test_parts_are_concatenated_in_order_and_verified(packaged: PackagedGGUF, tmp_path: Path) -> None:
    path = assemble(packaged, tmp_path / "cache")
    assert path.read_bytes() == b"GGUF" + b"a" * 100 + b"b" * 50 + b"c" * 7
    assert assemble(packaged, tmp_path / "cache") == path


def test_changed_cache_file_is_reassembled(packaged: PackagedGGUF, tmp_path: Path) -> None:
    path = assemble(packaged, tmp_path / "cache")
    path.write_bytes(b"tampered")
    assert assemble(packaged, tmp_path / "cache").stat().st_size == packaged.size


def test_wrong_checksum_raises_and_leaves_no_file(packaged: PackagedGGUF, tmp_path: Path) -> None:
    bad = PackagedGGUF("bad", packaged.package_prefix, 3, packaged.size, "0" * 64, "pip x")
    with pytest.raises(ModelCorrupt, match="sha256"):
        assemble(bad, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_part_names_the_package_and_the_install_command(tmp_path: Path) -> None:
    spec = PackagedGGUF("absent", "no_such_model_part", 2, 1, "0" * 64, "pip install '.[models]'")
    with pytest.raises(ModelNotFound, match=r"no_such_model_part1.*pip install"):
        assemble(spec, tmp_path)


def test_unknown_setting_lists_packaged_models(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=QWEN_0_5B.name):
        resolve_model_path("no-such-model", tmp_path)


def test_existing_file_path_is_used_as_is(tmp_path: Path) -> None:
    file = tmp_path / "my.gguf"
    file.write_bytes(b"x")
    assert resolve_model_path(str(file), tmp_path / "cache") == file


@pytest.mark.llm
def test_real_packaged_default_model_assembles_with_official_checksum(model_cache: Path) -> None:
    path = resolve_model_path(QWEN_1_5B.name, model_cache)
    assert path.stat().st_size == QWEN_1_5B.size
    with path.open("rb") as fh:
        assert fh.read(4) == b"GGUF"
