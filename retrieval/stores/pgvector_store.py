"""PostgreSQL + pgvector store through psycopg 3: one table, an HNSW index, filters in the WHERE clause.

Scores are inner products (`<#>` is its negation). The query runs with pgvector's iterative index
scan in strict order, so a selective tenant/collection/document filter still fills k results.
Each write is its own committed statement: the store is durable.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import psycopg
from numpy.typing import NDArray
from psycopg import sql

from retrieval.errors import IndexCorrupt, VectorStoreUnavailable
from retrieval.stores.protocol import VectorFilter, VectorRecord, check_shape
from retrieval.types import Hit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
    id bigint PRIMARY KEY,
    tenant text NOT NULL,
    collection text NOT NULL,
    document_id text NOT NULL,
    embedding vector({dimension}) NOT NULL
);
CREATE INDEX IF NOT EXISTS {scope_index} ON {table} (tenant, collection);
CREATE INDEX IF NOT EXISTS {document_index} ON {table} (document_id);
CREATE INDEX IF NOT EXISTS {hnsw_index} ON {table} USING hnsw (embedding vector_ip_ops);
"""

_SEARCH = """
SELECT id, -(embedding <#> %(q)s::vector) AS score FROM {table}
WHERE tenant = %(tenant)s
  AND (%(collection)s::text IS NULL OR collection = %(collection)s)
  AND (%(documents)s::text[] IS NULL OR document_id = ANY(%(documents)s))
ORDER BY embedding <#> %(q)s::vector
LIMIT %(k)s
"""

_UPSERT = """
INSERT INTO {table} (id, tenant, collection, document_id, embedding) VALUES (%s, %s, %s, %s, %s::vector)
ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant, collection = EXCLUDED.collection,
    document_id = EXCLUDED.document_id, embedding = EXCLUDED.embedding
"""


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn psycopg errors into `VectorStoreUnavailable`."""
    try:
        yield
    except psycopg.Error as exc:
        raise VectorStoreUnavailable(f"PostgreSQL could not {action}: {exc}") from exc


def vector_literal(vector: NDArray[np.float32]) -> str:
    """A vector in pgvector's text form, `[x,y,...]`."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32)) + "]"


class PgVectorStore:
    """Chunk vectors as rows of one pgvector table, searched through its HNSW index."""

    def __init__(self, dsn: str, dimension: int, table: str = "verity_chunks", ef_search: int = 100) -> None:
        self._dimension = dimension
        self._table = sql.Identifier(table)
        self._ef_search = ef_search
        self._lock = threading.Lock()
        with translated(f"connect to {dsn}"):
            self._conn = psycopg.connect(dsn, autocommit=True)
            # processes starting together would race on CREATE ... IF NOT EXISTS: one at a time
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(hashtext('verity:pgvector'))")
                self._conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                self._conn.execute(
                    sql.SQL(_SCHEMA).format(
                        table=self._table,
                        dimension=sql.Literal(dimension),
                        scope_index=sql.Identifier(f"{table}_scope"),
                        document_index=sql.Identifier(f"{table}_document"),
                        hnsw_index=sql.Identifier(f"{table}_hnsw"),
                    )
                )
            self._check_dimension(table)

    def _check_dimension(self, table: str) -> None:
        row = self._conn.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'embedding'",
            (table,),
        ).fetchone()
        if row is None or int(row[0]) != self._dimension:
            raise IndexCorrupt(
                f"table {table} holds vectors of dimension {row and row[0]}, the embedder gives "
                f"{self._dimension}: drop the table or use another one"
            )

    @property
    def dimension(self) -> int:
        return self._dimension

    def __len__(self) -> int:
        with self._lock, translated("count rows"):
            row = self._conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self._table)).fetchone()
        return int(row[0]) if row else 0

    def ids(self) -> set[int]:
        """Every chunk id held."""
        with self._lock, translated("list rows"):
            rows = self._conn.execute(sql.SQL("SELECT id FROM {}").format(self._table)).fetchall()
        return {int(r[0]) for r in rows}

    def add(self, records: Sequence[VectorRecord], vectors: NDArray[np.float32]) -> None:
        """Upsert rows by chunk id in one transaction."""
        check_shape(records, vectors, self._dimension)
        rows = [
            (r.id, r.tenant, r.collection, r.document_id, vector_literal(v))
            for r, v in zip(records, vectors, strict=True)
        ]
        with self._lock, translated("upsert rows"), self._conn.transaction(), self._conn.cursor() as cursor:
            cursor.executemany(sql.SQL(_UPSERT).format(table=self._table), rows)

    def delete(self, ids: Sequence[int]) -> None:
        """Delete rows by chunk id; unknown ids are ignored."""
        if not ids:
            return
        with self._lock, translated("delete rows"):
            self._conn.execute(
                sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(self._table), ([int(i) for i in ids],)
            )

    def search(self, vector: NDArray[np.float32], k: int, where: VectorFilter | None = None) -> list[Hit]:
        """The k best rows by inner product among those the WHERE clause admits."""
        if k <= 0 or (where is not None and where.document_ids is not None and not where.document_ids):
            return []
        query = sql.SQL(
            _SEARCH if where is not None else _SEARCH.replace("WHERE tenant = %(tenant)s", "WHERE true")
        )
        params = {
            "q": vector_literal(vector),
            "tenant": where.tenant if where else None,
            "collection": where.collection if where else None,
            "documents": sorted(where.document_ids) if where and where.document_ids is not None else None,
            "k": k,
        }
        with self._lock, translated("search"), self._conn.transaction():
            self._conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(self._ef_search)))
            self._conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            rows = self._conn.execute(query.format(table=self._table), params).fetchall()
        return [Hit(int(r[0]), float(r[1])) for r in rows]

    def drop(self) -> None:
        """Drop the table."""
        with self._lock, translated("drop the table"):
            self._conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._table))

    def close(self) -> None:
        """Close the connection."""
        with translated("close the connection"):
            self._conn.close()
