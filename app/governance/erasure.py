"""Erasure: every trace of a tenant's data removed on request; the audit trail keeps only that it
happened (the tenant's own entries are redacted, one `tenant.delete` entry says what was removed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app import kept_uploads
from app.governance.tenant_data import TenantData
from app.safe_paths import inside, name_key


class TenantBusy(Exception):
    """The tenant still has ingest jobs queued or running: erasing now would race them."""


def erase_tenant(
    data: TenantData, tenant: str, actor: str, also: Mapping[str, Callable[[str], int]] | None = None
) -> dict[str, int]:
    """Remove every trace of a tenant, from `data` and from each store in `also` (name -> its erase);
    returns how many items of each kind went. Raises `TenantBusy` while any of its ingest jobs is
    unfinished (then nothing is removed)."""
    if busy := data.jobs.unfinished_of(tenant):
        raise TenantBusy(
            f"tenant {tenant!r} has {len(busy)} ingest jobs queued or running; retry once they end"
        )
    counts = {"documents": data.delete_documents(tenant, data.tenant_documents(tenant))}
    kept_uploads.remove(data.uploads_dir, inside(data.uploads_dir, name_key(tenant)))
    counts["jobs"] = data.jobs.erase_tenant(tenant)
    counts["conversations"] = data.conversations.erase_tenant(tenant)
    counts["feedback"] = data.feedback.erase_tenant(tenant)
    counts.update(data.gateway.erase_tenant(tenant))
    counts["retention_overrides"] = data.retention.forget(tenant)
    counts.update({name: erase(tenant) for name, erase in (also or {}).items()})
    counts["audit_entries_redacted"] = data.audit.redact(tenant)
    data.audit.record(actor, "tenant.delete", target=tenant, details=counts)
    return counts
