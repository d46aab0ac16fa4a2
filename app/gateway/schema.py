"""The gateway's tables (keys, credit grants and debits, the usage ledger) as a versioned `Schema`.

Version 1 is the schema as the release before migrations created it, so an existing gateway.sqlite3 is
adopted as it is. Version 2 records which serving process took each open credit hold, so that a
process starting beside others releases only the holds of processes that are gone.
"""

from __future__ import annotations

from retrieval.databases.migrations import Migration, Schema

SQLITE_V1 = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, hash TEXT NOT NULL, name TEXT NOT NULL,
    scopes TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL
);
CREATE TABLE IF NOT EXISTS grants (
    key TEXT PRIMARY KEY, tenant TEXT NOT NULL, amount INTEGER NOT NULL, granted_at REAL NOT NULL,
    expires_at REAL, priority INTEGER NOT NULL, remaining INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS grants_tenant ON grants (tenant);
CREATE TABLE IF NOT EXISTS debits (
    key TEXT PRIMARY KEY, tenant TEXT NOT NULL, at REAL NOT NULL, amount INTEGER NOT NULL,
    held INTEGER NOT NULL, settled INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS debits_tenant ON debits (tenant);
CREATE TABLE IF NOT EXISTS usage (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
    key_id TEXT, endpoint TEXT NOT NULL, model TEXT NOT NULL, at REAL NOT NULL, status INTEGER NOT NULL,
    tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, credits INTEGER NOT NULL,
    duration_ms REAL NOT NULL, latency_ms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_tenant_at ON usage (tenant, at);
"""

# The same tables in PostgreSQL's types: times in double precision (its REAL is 4 bytes), amounts in BIGINT.
POSTGRES_V1 = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, hash TEXT NOT NULL, name TEXT NOT NULL,
    scopes TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS grants (
    key TEXT PRIMARY KEY, tenant TEXT NOT NULL, amount BIGINT NOT NULL, granted_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION, priority INTEGER NOT NULL, remaining BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS grants_tenant ON grants (tenant);
CREATE TABLE IF NOT EXISTS debits (
    key TEXT PRIMARY KEY, tenant TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, amount BIGINT NOT NULL,
    held BIGINT NOT NULL, settled INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS debits_tenant ON debits (tenant);
CREATE TABLE IF NOT EXISTS usage (
    seq BIGSERIAL PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
    key_id TEXT, endpoint TEXT NOT NULL, model TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    status INTEGER NOT NULL, tokens_in BIGINT NOT NULL, tokens_out BIGINT NOT NULL, credits BIGINT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL, latency_ms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_tenant_at ON usage (tenant, at);
"""

HOLD_OWNER = "ALTER TABLE debits ADD COLUMN owner TEXT;"

GATEWAY_SCHEMA = Schema(
    "gateway",
    (
        Migration(1, "keys, credit grants and debits, the usage ledger", SQLITE_V1, POSTGRES_V1),
        Migration(2, "an open credit hold names the serving process that took it", HOLD_OWNER, HOLD_OWNER),
    ),
)
