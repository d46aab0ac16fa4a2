"""The purge: what is past its retention goes, from every store (catalog, vectors, BM25, the embedding
cache, kept uploads, conversations, feedback, the usage ledger, job records, audit entries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.governance.retention import KINDS, TenantRetention
from app.governance.tenant_data import TenantData


@dataclass
class PurgeReport:
    """How many items of each kind went, per tenant (only tenants that lost something)."""

    at: float
    removed: dict[str, dict[str, int]] = field(default_factory=dict)

    def total(self, kind: str) -> int:
        """Items of one kind removed, all tenants together."""
        return sum(counts.get(kind, 0) for counts in self.removed.values())

    def totals(self) -> dict[str, int]:
        """Items removed per kind."""
        return {kind: self.total(kind) for kind in KINDS}


def iso(seconds: float) -> str:
    """Unix seconds as the ISO 8601 UTC text conversations are stamped with (it sorts as text)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")


def filed_at(created_at: str) -> float:
    """A catalog time (ISO 8601) as unix seconds."""
    moment = datetime.fromisoformat(created_at)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def purge_tenant(data: TenantData, policy: TenantRetention, now: float) -> dict[str, int]:
    """Remove a tenant's data past its retention; returns the count per kind."""
    t, counts = policy.tenant, {}
    if (cut := policy.cutoff("usage", now)) is not None:
        counts["usage"] = data.gateway.scrub_usage_before(t, cut)
    if (cut := policy.cutoff("conversations", now)) is not None:
        counts["conversations"] = data.conversations.delete_before(t, iso(cut))
    if (cut := policy.cutoff("feedback", now)) is not None:
        counts["feedback"] = data.feedback.delete_before(t, cut)
    if (cut := policy.cutoff("jobs", now)) is not None:
        counts["jobs"] = data.jobs.delete_finished_before(t, cut)
    if (cut := policy.cutoff("uploads", now)) is not None:
        old = [d for d in data.tenant_documents(t) if filed_at(d.created_at) < cut]
        counts["uploads"] = data.delete_documents(t, old)
    if (cut := policy.cutoff("audit", now)) is not None:
        counts["audit"] = data.audit.redact(t, cut)
    return {kind: n for kind, n in counts.items() if n}


def purge(data: TenantData, now: float) -> PurgeReport:
    """Purge every tenant by its own retention; audit entries of no tenant follow the default."""
    report = PurgeReport(now)
    for tenant in sorted(data.tenants()):
        if counts := purge_tenant(data, data.retention.of(tenant), now):
            report.removed[tenant] = counts
    audit_days = data.retention.defaults["audit"]
    if audit_days is not None and (n := data.audit.redact(None, now - audit_days * 86400.0)):
        report.removed.setdefault("", {})["audit"] = n
    return report
