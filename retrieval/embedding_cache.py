"""An embedding cache: vectors kept in SQLite by (sha256 of the text, model id), so no text is embedded twice.

`CachedEmbedder` wraps any `Embedder` and is one itself: it embeds only the texts the cache lacks, in one
call to the wrapped model, and stores their vectors (float32 blobs) before returning. The store is a
SQLite file in WAL mode, so several processes may read it while one writes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from retrieval.embedders import Embedder, Vectors, embedder_revision

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    text_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    dimension INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (text_hash, model)
) WITHOUT ROWID
"""
_LOOKUP_BATCH = 500


def text_hash(text: str) -> str:
    """The sha256 hex digest of a text's UTF-8 bytes: the cache key, with the model id."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by (text hash, model id) in a SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)
        self._lock = threading.Lock()

    def get(self, hashes: Sequence[str], model: str) -> dict[str, Vectors]:
        """The cached vectors among these hashes for this model, by hash."""
        found: dict[str, Vectors] = {}
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            for start in range(0, len(unique), _LOOKUP_BATCH):
                part = unique[start : start + _LOOKUP_BATCH]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({marks})",
                    [model, *part],
                ).fetchall()
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put(self, hashes: Sequence[str], model: str, vectors: Vectors) -> None:
        """Store one vector per hash for this model, in one transaction (replacing any already there)."""
        if len(hashes) != len(vectors):
            raise ValueError(f"{len(hashes)} hashes for {len(vectors)} vectors")
        rows = [
            (key, model, int(vec.shape[0]), np.ascontiguousarray(vec, dtype=np.float32).tobytes())
            for key, vec in zip(hashes, vectors, strict=True)
        ]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def purge(self, hashes: Iterable[str], model: str | None = None) -> int:
        """Forget the vectors of these text hashes (for one model, or every model); returns how many went."""
        keys = list(dict.fromkeys(hashes))
        removed = 0
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(keys), _LOOKUP_BATCH):
                    part = keys[start : start + _LOOKUP_BATCH]
                    marks = ",".join("?" * len(part))
                    sql = f"DELETE FROM embeddings WHERE text_hash IN ({marks})"
                    params: list[str] = list(part)
                    if model is not None:
                        sql += " AND model = ?"
                        params.append(model)
                    removed += self._conn.execute(sql, params).rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return removed

    def hashes(self, model: str | None = None) -> set[str]:
        """Every text hash cached for this model (for any model when None)."""
        with self._lock:
            if model is None:
                rows = self._conn.execute("SELECT DISTINCT text_hash FROM embeddings").fetchall()
            else:
                sql = "SELECT text_hash FROM embeddings WHERE model = ?"
                rows = self._conn.execute(sql, (model,)).fetchall()
        return {str(row[0]) for row in rows}

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()


class WrappedEmbedder:
    """An embedder in front of another: the model's name, sizes and tokenizer are the inner one's."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    @property
    def max_tokens(self) -> int:
        return self._inner.max_tokens

    @property
    def revision(self) -> str:
        return embedder_revision(self._inner)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Count tokens with the wrapped model."""
        return self._inner.count_tokens(texts)

    def decode(self, token_ids: Sequence[int]) -> str:
        """Decode token ids with the wrapped model."""
        return self._inner.decode(token_ids)

    def token_strings(self, token_ids: Sequence[int]) -> list[str | None]:
        """The wrapped model's token for each id."""
        return self._inner.token_strings(token_ids)


class CachedEmbedder(WrappedEmbedder):
    """An `Embedder` that answers from an `EmbeddingCache` and embeds only what it lacks."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache, model_id: str | None = None) -> None:
        super().__init__(inner)
        self._cache = cache
        self._model_id = model_id or inner.name
        self.hits = 0
        self.misses = 0

    @property
    def cache(self) -> EmbeddingCache:
        """The cache behind this embedder."""
        return self._cache

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Vectors of the texts, in order: cached ones read back, the others embedded and stored."""
        keys = [text_hash(t) for t in texts]
        found = self._cache.get(keys, self._model_id)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        self.hits += len(keys) - sum(1 for k in keys if k not in found)
        self.misses += len(missing)
        if missing:
            first_text = {k: t for k, t in zip(keys, texts, strict=True)}
            fresh = self._inner.embed([first_text[k] for k in missing])
            self._cache.put(missing, self._model_id, fresh)
            found.update(zip(missing, np.asarray(fresh, dtype=np.float32), strict=True))
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def purge(self, hashes: Iterable[str]) -> int:
        """Forget this model's vectors of these text hashes (after a delete); returns how many went."""
        return self._cache.purge(hashes, self._model_id)

    def purge_texts(self, texts: Iterable[str]) -> int:
        """Forget this model's vectors of these texts; returns how many went."""
        return self.purge(text_hash(t) for t in texts)

    def retain_texts(self, texts: Iterable[str]) -> int:
        """Forget this model's vectors of every text not among these (the ones still filed)."""
        live = {text_hash(t) for t in texts}
        return self.purge(self._cache.hashes(self._model_id) - live)


class RecentEmbedder(WrappedEmbedder):
    """An `Embedder` that keeps the vectors of the texts it embedded last, in memory.

    For questions: the safety filter and retrieval both embed the same question, and it is embedded
    once. Bounded to `capacity` texts, least recently used out first.
    """

    def __init__(self, inner: Embedder, capacity: int = 1024) -> None:
        super().__init__(inner)
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Vectors of the texts, in order: recent ones reused, the others embedded in one call."""
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in known:
                self._vectors.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = np.asarray(self._inner.embed(missing), dtype=np.float32)
            known.update(zip(missing, fresh, strict=True))
            with self._lock:
                self._vectors.update(zip(missing, fresh, strict=True))
                while len(self._vectors) > self._capacity:
                    self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)
