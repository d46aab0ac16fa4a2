"""The gateway store's contract, run against SQLite and a real PostgreSQL: holds that cannot overspend
under concurrency, idempotent events, reconcile, abandoned holds; and the schema's migrations."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from app.gateway.credits import Grant
from app.gateway.errors import InsufficientCredits
from app.gateway.schema import GATEWAY_SCHEMA, SQLITE_V1
from app.gateway.store import GatewayStore, SqliteGatewayStore
from app.gateway.store_postgres import PostgresGatewayStore
from app.gateway.usage import UsageRecord
from retrieval.databases.migrations import Schema, migrate_postgres

OpenStore = Callable[[], GatewayStore]


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens a store on one database (each call another connection to it, as another process would)."""
    opened: list[GatewayStore] = []
    if request.param == "sqlite":
        path = tmp_path / "g.sqlite3"
        make: OpenStore = lambda: SqliteGatewayStore(path)  # noqa: E731
    else:
        dsn = request.getfixturevalue("fresh_pg_dsn")
        make = lambda: PostgresGatewayStore(dsn)  # noqa: E731

    def open_one() -> GatewayStore:
        opened.append(make())
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


def usage(request_id: str, at: float, credits: int, tenant: str = "acme") -> UsageRecord:
    return UsageRecord(request_id, tenant, "k1", "chat", "scripted", at, 200, credits, 0, credits)


def test_a_hold_takes_the_maximum_and_settling_releases_the_rest(open_store: OpenStore) -> None:
    store = open_store()
    assert store.grant("acme", Grant("g1", 100, 0.0))
    store.hold("acme", "r1", 10.0, 40)
    assert store.balance("acme", 10.0) == 60
    assert store.settle(usage("r1", 10.0, 15), held=True) == 15
    assert store.balance("acme", 10.0) == 85
    assert store.settle(usage("r1", 10.0, 30), held=True) == 0  # a repeat changes nothing
    assert store.balance("acme", 10.0) == 85
    assert store.settle(usage("r2", 11.0, 1000), held=False) == 1000  # not held: metered, no debit
    assert [r.request_id for r in store.usage("acme")] == ["r1", "r2"]
    assert store.reconcile()[0].stored == 85


def test_a_charge_never_exceeds_its_hold(open_store: OpenStore) -> None:
    store = open_store()
    store.grant("acme", Grant("g1", 100, 0.0))
    store.hold("acme", "r1", 1.0, 10)
    assert store.settle(usage("r1", 1.0, 25), held=True) == 10
    assert store.balance("acme", 1.0) == 90


def test_holds_past_the_balance_are_refused_with_402(open_store: OpenStore) -> None:
    store = open_store()
    store.grant("acme", Grant("g1", 10, 0.0, expires_at=100.0))
    store.hold("acme", "r1", 1.0, 8)
    with pytest.raises(InsufficientCredits) as refused:
        store.hold("acme", "r2", 2.0, 3)
    assert refused.value.status == 402 and "2 credits" in str(refused.value)
    with pytest.raises(InsufficientCredits):
        store.hold("acme", "r3", 100.0, 1)  # expired at its event time


def test_grants_are_idempotent_and_late_events_land_at_their_time(open_store: OpenStore) -> None:
    store = open_store()
    assert store.grant("acme", Grant("g1", 10, 0.0, expires_at=50.0))
    assert not store.grant("acme", Grant("g1", 10, 0.0, expires_at=50.0))
    store.grant("acme", Grant("g2", 10, 40.0))
    store.hold("acme", "r-late", 60.0, 5)  # g1 has expired at 60: drawn from g2
    store.hold("acme", "r-early", 20.0, 4)  # arrives later, happened earlier: drawn from g1
    remaining = {g.key: r for g, r in store.grants("acme")}
    assert remaining == {"g1": 6, "g2": 5}
    assert store.balance("acme", 30.0) == 6 and store.balance("acme", 60.0) == 5


def test_keys_are_kept_listed_and_revoked(open_store: OpenStore) -> None:
    from app.gateway.errors import KeyNotFound
    from app.gateway.store import KeyRecord

    store = open_store()
    assert not store.has_keys()
    store.add_key(KeyRecord("k1", "acme", "h1", "first", "{}", 1.0))
    store.add_key(KeyRecord("k2", "beta", "h2", "second", "{}", 2.0))
    assert store.has_keys() and [k.id for k in store.list_keys()] == ["k1", "k2"]
    assert [k.id for k in store.list_keys("beta")] == ["k2"]
    store.revoke_key("k1", 5.0)
    assert store.get_key("k1") == KeyRecord("k1", "acme", "h1", "first", "{}", 1.0, 5.0)
    assert store.get_key("nope") is None
    with pytest.raises(KeyNotFound):
        store.revoke_key("nope", 5.0)


def test_concurrent_holds_from_threads_and_two_connections_never_overspend(open_store: OpenStore) -> None:
    stores = [open_store(), open_store()]  # two connections: as two processes would hold
    stores[0].grant("acme", Grant("g1", 50, 0.0))
    admitted: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            stores[i % 2].hold("acme", f"r{i}", 1.0, 1)
        except InsufficientCredits:
            return
        with lock:
            admitted.append(f"r{i}")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 50
    assert stores[1].balance("acme", 1.0) == 0
    assert [(d.stored, d.recomputed) for d in stores[0].reconcile()] == [(0, 0)]


def test_reconcile_reports_drift_when_the_ledger_and_the_blocks_disagree(open_store: OpenStore) -> None:
    store = open_store()
    store.grant("acme", Grant("g1", 100, 0.0))
    store.hold("acme", "r1", 1.0, 30)
    store.settle(usage("r1", 1.0, 20), held=True)
    assert [(d.stored, d.recomputed) for d in store.reconcile()] == [(80, 80)]
    with store._write() as db:  # type: ignore[attr-defined]
        db.execute("UPDATE usage SET credits = 25 WHERE request_id = 'r1'")  # a tampered ledger row
    assert [(d.stored, d.recomputed) for d in store.reconcile()] == [(80, 75)]


def test_holds_left_open_by_a_stopped_server_are_released_at_start(open_store: OpenStore) -> None:
    store = open_store()
    store.grant("acme", Grant("g1", 100, 0.0))
    store.hold("acme", "r1", 1.0, 60)
    store.close()
    restarted = open_store()
    assert restarted.balance("acme", 2.0) == 40
    assert restarted.release_abandoned_holds() == 1 and restarted.release_abandoned_holds() == 0
    assert restarted.balance("acme", 2.0) == 100
    assert [(r.request_id, r.status, r.credits) for r in restarted.usage("acme")] == [("r1", 500, 0)]
    assert [(d.stored, d.recomputed) for d in restarted.reconcile()] == [(100, 100)]


def test_a_starting_process_keeps_the_holds_of_a_process_still_serving(fresh_pg_dsn: str) -> None:
    serving, starting = PostgresGatewayStore(fresh_pg_dsn), PostgresGatewayStore(fresh_pg_dsn)
    serving.grant("acme", Grant("g1", 100, 0.0))
    serving.hold("acme", "r1", 1.0, 60)
    assert starting.release_abandoned_holds() == 0  # its owner still runs and will settle it
    assert serving.settle(usage("r1", 1.0, 10), held=True) == 10
    serving.hold("acme", "r2", 2.0, 30)
    serving.close()  # stops without settling r2
    assert starting.release_abandoned_holds() == 1
    assert starting.balance("acme", 3.0) == 90
    starting.close()


# --- migrations ----------------------------------------------------------------------------------


def test_a_gateway_file_of_the_previous_release_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(SQLITE_V1)  # the SCHEMA string of the release before migrations (f723cd7)
    old.execute("INSERT INTO keys VALUES ('k1', 'acme', 'h', 'n', '{}', 1.0, NULL)")
    old.execute("INSERT INTO grants VALUES ('g1', 'acme', 100, 0.0, NULL, 0, 70)")
    old.execute("INSERT INTO debits VALUES ('r1', 'acme', 1.0, 30, 30, 0)")  # left open by the old server
    old.commit()
    old.close()
    store = SqliteGatewayStore(path)
    assert store.get_key("k1") is not None and store.balance("acme", 2.0) == 70
    assert store.release_abandoned_holds() == 1 and store.balance("acme", 2.0) == 100
    versions = store._read("SELECT version FROM schema_migrations WHERE component = 'gateway'")
    assert sorted(v for (v,) in versions) == [1, 2]
    store.close()


def test_a_postgres_database_at_version_1_is_migrated_with_its_rows(fresh_pg_dsn: str) -> None:
    with psycopg.connect(fresh_pg_dsn, autocommit=True) as conn:
        migrate_postgres(conn, Schema("gateway", GATEWAY_SCHEMA.migrations[:1]))
        conn.execute("INSERT INTO grants VALUES ('g1', 'acme', 100, 0.0, NULL, 0, 70)")
        conn.execute("INSERT INTO debits VALUES ('r1', 'acme', 1.0, 30, 30, 0)")
    store = PostgresGatewayStore(fresh_pg_dsn)
    assert store.balance("acme", 2.0) == 70
    assert store.release_abandoned_holds() == 1 and store.balance("acme", 2.0) == 100
    store.close()
