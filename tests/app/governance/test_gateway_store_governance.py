"""The gateway store's governance methods, on SQLite and a real PostgreSQL: scrubbing old usage keeps the
credit ledger whole, erasure removes a tenant's rows and nobody else's, scopes are replaced."""

from __future__ import annotations

import pytest

from app.gateway.credits import Grant
from app.gateway.errors import KeyNotFound
from app.gateway.store import KeyRecord
from tests.app.gateway.test_store import OpenStore, open_store, usage

__all__ = ["open_store"]


def test_scrubbing_usage_keeps_the_credit_ledger_and_erasure_is_per_tenant(open_store: OpenStore) -> None:
    store = open_store()
    for tenant in ("acme", "beta"):
        store.add_key(KeyRecord(f"k-{tenant}", tenant, "h", "", "{}", 1.0))
        store.grant(tenant, Grant(f"g-{tenant}", 100, 1.0, None, 0))
        store.hold(tenant, f"r1-{tenant}", 2.0, 10)
        store.settle(usage(f"r1-{tenant}", 2.0, 7, tenant), held=True)
        store.record(usage(f"r2-{tenant}", 3.0, 0, tenant))
        store.record(usage(f"r3-{tenant}", 50.0, 0, tenant))
    assert store.scrub_usage_before("acme", 10.0) == 2  # the refused one removed, the charged one scrubbed
    kept = store.usage("acme")
    assert [(u.request_id, u.endpoint, u.credits) for u in kept] == [
        ("r1-acme", "", 7),
        ("r3-acme", "chat", 0),
    ]
    assert all(d.stored == d.recomputed for d in store.reconcile())
    assert store.scrub_usage_before("acme", 10.0) == 0
    assert store.known_tenants() == {"acme", "beta"}
    store.set_scopes("k-beta", '{"collections": ["docs"], "endpoints": null, "models": null}')
    assert store.get_key("k-beta").scopes.startswith('{"collections": ["docs"]')  # type: ignore[union-attr]
    with pytest.raises(KeyNotFound):
        store.set_scopes("nope", "{}")
    assert store.erase_tenant("acme") == {"keys": 1, "grants": 1, "debits": 1, "usage": 2}
    assert store.known_tenants() == {"beta"} and store.usage("acme") == []
    assert len(store.usage("beta")) == 3 and store.balance("beta", 60.0) == 93
