"""Paths the server builds from data: made of server-made keys only, and checked against their root.

No name a client gives (collection, file name, tenant, title) is ever a path component. A tenant or a
collection is filed under a digest of its name (`name_key`), a document under its server-made id, an
upload in flight under a random id. Every path built here is resolved and must stay inside its root,
so a bug that let a name through would raise `UnsafePath` instead of touching another file.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

_SUFFIX = r"\.[A-Za-z0-9]{1,10}"
_KEY = re.compile(rf"[A-Za-z0-9_-]{{1,64}}(?:{_SUFFIX})?")


class UnsafePath(ValueError):
    """A path component that is not a server-made key, or a path that leaves its root."""


def name_key(name: str) -> str:
    """A fixed-length digest of a name, safe as a path component whatever the name holds."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def check_key(part: str) -> str:
    """Return `part` if it is a server-made key (letters, digits, '_', '-'; a short suffix), else raise."""
    if not _KEY.fullmatch(part):
        raise UnsafePath(f"not a server-made key: {part[:80]!r}")
    return part


def safe_suffix(filename: str) -> str:
    """The file name's extension if it is short and plain ('.pdf'), else ''; lower-cased."""
    dot = filename.rfind(".")
    suffix = filename[dot:] if dot > 0 else ""
    return suffix.lower() if re.fullmatch(_SUFFIX, suffix) else ""


def inside(root: Path, *parts: str) -> Path:
    """`root` joined with server-made keys; raises `UnsafePath` unless the result stays under `root`."""
    base = root.resolve()
    path = base.joinpath(*(check_key(p) for p in parts)).resolve()
    if not path.is_relative_to(base) or path == base:
        raise UnsafePath(f"{path} is not inside {base}")
    return path


def check_inside(root: Path, path: Path) -> Path:
    """`path` resolved, if it lies strictly under `root`; else raise `UnsafePath`."""
    base, resolved = root.resolve(), path.resolve()
    if not resolved.is_relative_to(base) or resolved == base:
        raise UnsafePath(f"{resolved} is not inside {base}")
    return resolved
