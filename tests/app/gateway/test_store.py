"""The gateway's SQLite store: holds that cannot overspend under concurrency, idempotent events, reconcile."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.gateway.credits import Grant
from app.gateway.errors import InsufficientCredits
from app.gateway.store import GatewayStore
from app.gateway.usage import UsageRecord


def usage(request_id: str, at: float, credits: int, tenant: str = "acme") -> UsageRecord:
    return UsageRecord(request_id, tenant, "k1", "chat", "scripted", at, 200, credits, 0, credits)


def test_a_hold_takes_the_maximum_and_settling_releases_the_rest(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
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


def test_a_charge_never_exceeds_its_hold(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    store.grant("acme", Grant("g1", 100, 0.0))
    store.hold("acme", "r1", 1.0, 10)
    assert store.settle(usage("r1", 1.0, 25), held=True) == 10
    assert store.balance("acme", 1.0) == 90


def test_holds_past_the_balance_are_refused_with_402(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    store.grant("acme", Grant("g1", 10, 0.0, expires_at=100.0))
    store.hold("acme", "r1", 1.0, 8)
    with pytest.raises(InsufficientCredits) as refused:
        store.hold("acme", "r2", 2.0, 3)
    assert refused.value.status == 402 and "2 credits" in str(refused.value)
    with pytest.raises(InsufficientCredits):
        store.hold("acme", "r3", 100.0, 1)  # expired at its event time


def test_grants_are_idempotent_and_late_events_land_at_their_time(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    assert store.grant("acme", Grant("g1", 10, 0.0, expires_at=50.0))
    assert not store.grant("acme", Grant("g1", 10, 0.0, expires_at=50.0))
    store.grant("acme", Grant("g2", 10, 40.0))
    store.hold("acme", "r-late", 60.0, 5)  # g1 has expired at 60: drawn from g2
    store.hold("acme", "r-early", 20.0, 4)  # arrives later, happened earlier: drawn from g1
    remaining = {g.key: r for g, r in store.grants("acme")}
    assert remaining == {"g1": 6, "g2": 5}
    assert store.balance("acme", 30.0) == 6 and store.balance("acme", 60.0) == 5


def test_concurrent_holds_from_threads_and_two_connections_never_overspend(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    stores = [GatewayStore(path), GatewayStore(path)]  # two connections: as two processes would hold
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


def test_reconcile_reports_drift_when_the_ledger_and_the_blocks_disagree(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    store.grant("acme", Grant("g1", 100, 0.0))
    store.hold("acme", "r1", 1.0, 30)
    store.settle(usage("r1", 1.0, 20), held=True)
    assert [(d.stored, d.recomputed) for d in store.reconcile()] == [(80, 80)]
    store._db.execute("UPDATE usage SET credits = 25 WHERE request_id = 'r1'")  # a tampered ledger row
    assert [(d.stored, d.recomputed) for d in store.reconcile()] == [(80, 75)]


def test_holds_left_open_by_a_stopped_server_are_released_at_start(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    store.grant("acme", Grant("g1", 100, 0.0))
    store.hold("acme", "r1", 1.0, 60)
    store.close()
    restarted = GatewayStore(tmp_path / "g.sqlite3")
    assert restarted.balance("acme", 2.0) == 40
    assert restarted.release_abandoned_holds() == 1 and restarted.release_abandoned_holds() == 0
    assert restarted.balance("acme", 2.0) == 100
    assert [(r.request_id, r.status, r.credits) for r in restarted.usage("acme")] == [("r1", 500, 0)]
    assert [(d.stored, d.recomputed) for d in restarted.reconcile()] == [(100, 100)]
