"""Governance as one use case for the routes and the CLI: purges, erasure, retention settings, the
safety policy's changes, and the abuse monitor, every change audited."""

from __future__ import annotations

from app.gateway.clock import Clock
from app.gateway.keys import Caller
from app.governance.abuse import AbuseMonitor
from app.governance.audit import AuditFilter, AuditLog
from app.governance.chain import AuditEntry
from app.governance.erasure import erase_tenant
from app.governance.purge import PurgeReport, purge
from app.governance.retention import TenantRetention, check_kind
from app.governance.tenant_data import TenantData


def actor_of(caller: Caller) -> str:
    """Who a tenant's request acts as in the audit trail: its key id (never the key)."""
    return f"key:{caller.key_id}" if caller.key_id else f"tenant:{caller.tenant}"


class Governance:
    """The audit trail, retention and erasure over every store, and the abuse monitor."""

    def __init__(self, data: TenantData, abuse: AbuseMonitor, clock: Clock) -> None:
        self.data, self.abuse, self._clock = data, abuse, clock

    @property
    def audit(self) -> AuditLog:
        """The audit trail."""
        return self.data.audit

    def purge(self, actor: str) -> PurgeReport:
        """Remove everything past its retention now; one `retention.purge` entry when anything went."""
        report = purge(self.data, self._clock.now())
        if report.removed:
            totals = {kind: n for kind, n in report.totals().items() if n}
            self.audit.record(
                actor,
                "retention.purge",
                details={"removed": totals, "tenants": sorted(t for t in report.removed if t)},
            )
        return report

    def erase(self, tenant: str, actor: str) -> dict[str, int]:
        """Remove every trace of a tenant (`TenantBusy` while its jobs run); audited as `tenant.delete`."""
        return erase_tenant(self.data, tenant, actor, {"abuse_flags": self.abuse.forget})

    def retention(self, tenant: str) -> TenantRetention:
        """A tenant's retention now."""
        return self.data.retention.of(tenant)

    def set_retention(self, tenant: str, kind: str, days: float | None, actor: str) -> TenantRetention:
        """Override how long one kind of a tenant's data is kept (None: until deleted); audited."""
        self.data.retention.override(tenant, check_kind(kind), days)
        self.audit.record(actor, "retention.set", kind, tenant, {"days": days})
        return self.retention(tenant)

    def reset_retention(self, tenant: str, kind: str, actor: str) -> TenantRetention:
        """Return one kind of a tenant's data to the default retention; audited when it had an override."""
        if self.data.retention.reset(tenant, kind):
            self.audit.record(actor, "retention.reset", kind, tenant)
        return self.retention(tenant)

    def note_safety_policy(self, safety: str, policy: str, actor: str = "server") -> AuditEntry | None:
        """Audit the safety settings when they differ from the last ones audited (the first start too)."""
        now = {"safety": safety, "policy": policy}
        last = self.audit.entries(AuditFilter(action="safety.policy", limit=1))
        before = {k: last[0].details.get(k) for k in now} if last else None
        if before == now:
            return None
        return self.audit.record(actor, "safety.policy", details={**now, "before": before})
