"""Every store that holds a tenant's data, in one place, for purges and erasure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app import kept_uploads
from app.conversations.store import ConversationStore
from app.feedback import FeedbackStore
from app.gateway.store import GatewayStore
from app.governance.audit import AuditLog
from app.governance.retention import RetentionStore
from app.serving.documents import Documents
from ingest.job_store import JobRecords
from retrieval.catalog import Catalog
from retrieval.types import Document, Scope


@dataclass
class TenantData:
    """The stores a tenant's data lives in. `documents` is called only when documents must go (it opens
    the index)."""

    catalog: Catalog
    documents: Callable[[], Documents]
    uploads_dir: Path
    jobs: JobRecords
    conversations: ConversationStore
    feedback: FeedbackStore
    gateway: GatewayStore
    retention: RetentionStore
    audit: AuditLog

    def tenants(self) -> set[str]:
        """Every tenant any store knows of."""
        found = {d.tenant for d in self.catalog.all_documents()}
        for store in (self.jobs, self.conversations, self.feedback, self.retention, self.audit):
            found |= store.tenants()
        return found | self.gateway.known_tenants()

    def delete_documents(self, tenant: str, documents: list[Document]) -> int:
        """Delete documents from the catalog, vectors, BM25 and the embedding cache, with their uploads."""
        if not documents:
            return 0
        deleted = self.documents().delete(tenant, [d.id for d in documents])
        kept_uploads.remove_kept(self.uploads_dir, deleted)
        return len(deleted)

    def tenant_documents(self, tenant: str) -> list[Document]:
        """Every document of a tenant."""
        return self.catalog.list_documents(Scope(tenant))
