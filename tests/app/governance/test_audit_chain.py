"""The hash chain on the in-memory audit trail: an edit or a removal is named; a redaction or a filter
changes nothing the chain checks."""

from __future__ import annotations

from dataclasses import replace

from app.gateway.clock import FakeClock
from app.governance.audit import AuditFilter, MemoryAuditLog


def filled() -> MemoryAuditLog:
    clock = FakeClock()
    log = MemoryAuditLog(clock)
    for i, tenant in enumerate(["a", "b", "a", None, "b"]):
        clock.advance(60)
        log.record("admin", "key.create" if i % 2 == 0 else "credit.grant", f"t{i}", tenant, {"i": i})
    return log


def test_an_intact_chain_verifies_and_filters_select() -> None:
    log = filled()
    assert log.verify() is None
    assert [e.seq for e in log.entries(AuditFilter(tenant="a"))] == [3, 1]
    assert [e.seq for e in log.entries(AuditFilter(action="credit."))] == [4, 2]
    assert [e.seq for e in log.entries(AuditFilter(since=log.rows[1].at, until=log.rows[3].at))] == [3, 2]
    assert [e.seq for e in log.entries(AuditFilter(limit=2))] == [5, 4]


def test_edits_removals_and_truncations_are_named() -> None:
    edited = filled()
    edited.rows[2] = replace(edited.rows[2], details={"i": 99})
    assert edited.verify() == "entry 3 was edited: its content does not match its hash"
    renamed = filled()
    renamed.rows[1] = replace(renamed.rows[1], action="key.revoke")
    assert renamed.verify() == "entry 2 does not link to entry 1: an entry was edited or removed"
    removed = filled()
    del removed.rows[3]
    assert removed.verify() == "entry 4 is missing (the next entry kept is 5)"


def test_redaction_blanks_content_and_keeps_the_chain() -> None:
    log = filled()
    assert log.redact("a") == 2 and log.redact("a") == 0
    assert log.redact(None, before=log.rows[3].at) == 0 and log.redact(None) == 1
    assert [e.actor for e in log.rows] == ["redacted", "admin", "redacted", "redacted", "admin"]
    assert log.tenants() == {"b"} and log.verify() is None
