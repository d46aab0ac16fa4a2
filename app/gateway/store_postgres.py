"""The gateway's store on PostgreSQL, shared by every gateway process of a deployment.

The queries are `GatewayTables`'; what PostgreSQL adds: a change of a tenant's credits takes
`pg_advisory_xact_lock` on the tenant first, so holds from any number of processes are serialised per
tenant (and tenants do not wait on each other); and each store keeps one session holding an advisory
lock on its own name while it lives, so a starting process can tell the holds of a process that is gone
(its lock is free) from those of one still serving (its lock is taken), and releases only the former.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from app.gateway.schema import GATEWAY_SCHEMA
from app.gateway.store import Connection, GatewayTables, new_owner
from retrieval.databases.errors import StorageUnavailable
from retrieval.databases.postgres import PostgresConnection, PostgresFile, redact


def _tenant_lock(tenant: str) -> str:
    return f"verity:gateway:tenant:{tenant}"


def _owner_lock(owner: str) -> str:
    return f"verity:gateway:owner:{owner}"


class PostgresGatewayStore(PostgresFile, GatewayTables):
    """Keys, credits and usage in a PostgreSQL database; any number of processes may share it."""

    def __init__(self, dsn: str, max_connections: int = 8) -> None:
        PostgresFile.__init__(self, dsn, GATEWAY_SCHEMA, max_connections)
        self._owner = new_owner()
        try:
            self._alive = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as error:
            self._pool.close()
            raise StorageUnavailable(f"cannot reach PostgreSQL at {redact(dsn)}: {error}") from error
        self._alive.execute("SELECT pg_advisory_lock(hashtext(%s))", (_owner_lock(self._owner),))

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield PostgresConnection(conn)

    def _lock_tenant(self, db: Connection, tenant: str) -> None:
        db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (_tenant_lock(tenant),))

    def _abandoned_owners(self, db: Connection, owners: set[str | None]) -> set[str | None]:
        gone: set[str | None] = {
            o for o in owners if o is None
        }  # holds taken before holds named their process
        for owner in sorted(o for o in owners if o is not None and o != self._owner):
            # free only when the owner's session ended; taken for this transaction, so it stays gone
            (free,) = db.execute(
                "SELECT pg_try_advisory_xact_lock(hashtext(?))", (_owner_lock(owner),)
            ).fetchone()
            if free:
                gone.add(owner)
        return gone

    def close(self) -> None:
        """Close the pool and end this store's liveness session (its open holds become releasable)."""
        if not self._alive.closed:
            # now, not when the server notices the session is gone (if it is gone, so is its lock)
            with contextlib.suppress(psycopg.Error):
                self._alive.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_owner_lock(self._owner),))
            self._alive.close()
        PostgresFile.close(self)
