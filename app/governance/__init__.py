"""Governance: the audit trail, retention and erasure of tenants' data, and abuse detection."""
