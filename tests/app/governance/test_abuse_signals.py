"""The abuse signals as pure functions, and the monitor's actions over an in-memory audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.gateway.clock import FakeClock
from app.gateway.errors import RateLimited
from app.gateway.keys import Caller
from app.gateway.store import SqliteGatewayStore
from app.gateway.usage import UsageRecord
from app.governance.abuse import AbuseMonitor, AbuseStore, Response, Suspended
from app.governance.abuse_signals import (
    Thresholds,
    client_address,
    correlated_burst,
    probing,
    shared_key,
    tenant_spikes,
)
from app.governance.audit import AuditFilter, MemoryAuditLog

T = Thresholds()
NOW = 1_700_000_000.0


def rows(tenant: str, key: str, times: list[float]) -> list[UsageRecord]:
    return [
        UsageRecord(f"req_{tenant}_{key}_{i}", tenant, key, "embeddings", "m", at, 200)
        for i, at in enumerate(times)
    ]


def test_forwarded_addresses_are_believed_only_from_trusted_proxies() -> None:
    assert client_address("10.0.0.9", "1.2.3.4", []) == "10.0.0.9"
    assert client_address("10.0.0.9", "1.2.3.4", ["10.0.0.1"]) == "10.0.0.9"
    assert client_address("10.0.0.1", "6.6.6.6, 1.2.3.4", ["10.0.0.1"]) == "1.2.3.4"
    assert client_address("10.0.0.1", "1.2.3.4, 10.0.0.2", ["10.0.0.1", "10.0.0.2"]) == "1.2.3.4"
    assert client_address(None, None, []) == "unknown"


def test_shared_key_and_probing_count_only_the_window() -> None:
    seen = {f"10.0.0.{i}": NOW - 10 for i in range(4)} | {"10.0.1.1": NOW - T.window_s - 1}
    assert shared_key(seen, NOW, T) is None
    assert shared_key({**seen, "10.0.0.9": NOW}, NOW, T) == 5
    assert probing([NOW - T.window_s - 5] + [NOW - 1] * 4, NOW, T) is None
    assert probing([NOW - 1] * 5, NOW, T) == 5


def test_a_burst_needs_many_keys_each_far_above_their_own_mean() -> None:
    steady = [
        r
        for k in range(10)
        for r in rows("t", f"steady{k}", [NOW - 60 * m - 5 for m in range(0, 600, 1)][:300])
    ]
    burst = [r for k in range(5) for r in rows(f"b{k}", f"burst{k}", [NOW - 30 + i for i in range(12)])]
    assert correlated_burst(steady, NOW, T) == {}
    assert sorted(correlated_burst(steady + burst, NOW, T)) == [f"burst{k}" for k in range(5)]
    assert correlated_burst(steady + burst[:48], NOW, T) == {}  # four keys bursting are not enough


def test_a_spike_is_measured_against_the_tenants_own_history() -> None:
    history = rows("t", "k", [NOW - 3600 - h * 3600 - 1 for h in range(24) for _ in range(30)])
    quiet = rows("t", "k", [NOW - 100 - i for i in range(250)])
    assert tenant_spikes(history + quiet, NOW, T) == {}  # 250 against a mean of 30 is under ten times
    loud = rows("t", "k", [NOW - 100 - i * 0.5 for i in range(400)])
    assert tenant_spikes(history + loud, NOW, T) == {"t": (400, 30.0)}
    assert tenant_spikes(loud, NOW, T) == {}  # no history: no baseline


def test_the_monitor_acts_once_per_signal_audits_and_lifts(tmp_path: Path) -> None:
    clock, audit = FakeClock(NOW), MemoryAuditLog(FakeClock(NOW))
    monitor = AbuseMonitor(
        AbuseStore(tmp_path / "g.sqlite3"),
        SqliteGatewayStore(tmp_path / "gw.sqlite3"),
        audit,
        clock,
        Thresholds(probe_blocks=2),
        Response({"probing": "throttle"}, throttle_s=60, throttle_rpm=1),
    )
    caller, other = Caller("t", "k1"), Caller("t", "k2")
    assert monitor.saw_safety_block(caller) is None
    flag = monitor.saw_safety_block(caller)
    assert flag is not None and flag.action == "throttle" and monitor.saw_safety_block(caller) is None
    monitor.check(caller)
    with pytest.raises(RateLimited):
        monitor.check(caller)
    monitor.check(other)
    clock.advance(61)
    monitor.check(caller)  # the throttle ran out
    for i in range(5):
        monitor.saw_request(other, f"10.0.0.{i}")
    with pytest.raises(Suspended):
        monitor.check(other)
    (suspension,) = [f for f in monitor.store.in_force(clock.now()) if f.signal == "shared_key"]
    monitor.lift(suspension.id, "admin")
    monitor.check(other)
    assert [e.action for e in audit.entries(AuditFilter(action="abuse."))] == [
        "abuse.lift",
        "abuse.suspend",
        "abuse.throttle",
    ]
    assert audit.verify() is None


def test_an_action_for_an_unknown_signal_is_refused() -> None:
    from pydantic import ValidationError

    from app.settings import Settings

    with pytest.raises(ValidationError, match="unknown signals \\['probe'\\]"):
        Settings(abuse_actions={"probe": "record"})  # type: ignore[dict-item]
    assert Settings(abuse_actions={"probing": "record"}).abuse_actions == {"probing": "record"}
