"""Store fixtures: a Qdrant server when one is named, embedded Qdrant's folder (pg_dsn: tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def qdrant_url() -> str:
    """The Qdrant server named by VERITY_QDRANT_URL; the tests that need one skip without it."""
    url = os.environ.get("VERITY_QDRANT_URL")
    if not url:
        pytest.skip(
            "no Qdrant server: set VERITY_QDRANT_URL=http://host:6333 to run the contract suite against one "
            "(none is obtainable on this machine: no Qdrant binary in Debian, npm or PyPI)"
        )
    return url


@pytest.fixture
def qdrant_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder for embedded Qdrant, in RAM when /dev/shm exists.

    Embedded Qdrant commits every point to SQLite on its own (an fsync each): 2,000 points took 53 s
    on this machine's disk and 0.9 s on tmpfs. The store under test is the same; only the disk differs.
    """
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="verity-qdrant-", dir=shm)) if shm.is_dir() else tmp_path / "qdrant"
    yield root
    shutil.rmtree(root, ignore_errors=True)
