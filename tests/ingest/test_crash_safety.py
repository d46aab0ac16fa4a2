"""`kill -9` in the middle of an ingest leaves the last committed version intact, and a rerun finishes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from app.container import FAISS_BACKEND
from retrieval.catalog import SqliteCatalog
from retrieval.embedders import SentenceTransformerEmbedder
from retrieval.index import VERSION_KEY, ChunkIndex
from retrieval.search import HybridSearcher
from retrieval.types import Scope


def committed_version(catalog_path: Path) -> int:
    if not catalog_path.exists():
        return 0
    try:
        with sqlite3.connect(catalog_path, timeout=1) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(row[0]) if row else 0


def test_kill_9_mid_ingest_leaves_a_usable_index_and_a_rerun_completes(
    tmp_path: Path, docs_mixed: Path, embedder: SentenceTransformerEmbedder
) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir)}
    command = [str(Path(sys.executable).parent / "verity"), "ingest", str(docs_mixed)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while committed_version(data_dir / "catalog.sqlite3") < 3:
        assert process.poll() is None, "the ingest finished before it could be killed"
        assert time.monotonic() < deadline, "no version was published in time"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()

    catalog = SqliteCatalog(data_dir / "catalog.sqlite3")
    index = ChunkIndex(data_dir / "index", catalog, FAISS_BACKEND, embedder.dimension)
    documents = catalog.list_documents(Scope())
    assert 3 <= len(documents) < 21
    assert [p.name for p in (data_dir / "index").iterdir()] == [f"vectors-{index.version:08d}.faiss"]
    hits = HybridSearcher(index, embedder).search("document", Scope(), 5).passages
    assert hits and {p.chunk.document_id for p in hits} <= {d.id for d in documents}
    catalog.close()

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"added {21 - len(documents)}, replaced 0, unchanged {len(documents)}, failed 0" in rerun.stdout
