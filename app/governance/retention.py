"""Retention: how long each kind of a tenant's data is kept, with per-tenant overrides of the defaults.

Defaults come from the settings (`VERITY_RETENTION_*_DAYS`); an override names a tenant, a kind and a
number of days, or none (kept until deleted). Overrides live in the governance SQLite file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from retrieval.databases.sqlite_file import SqliteFile

KINDS = ("usage", "conversations", "feedback", "uploads", "jobs", "audit")
DAY = 86400.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS retention (
    tenant TEXT NOT NULL, kind TEXT NOT NULL, days REAL, PRIMARY KEY (tenant, kind)
);
"""


class UnknownKind(ValueError):
    """A retention kind that is not one of `KINDS`."""


def check_kind(kind: str) -> str:
    """The kind, or `UnknownKind` naming the known ones."""
    if kind not in KINDS:
        raise UnknownKind(f"no kind of data named {kind!r}; the kinds are {', '.join(KINDS)}")
    return kind


@dataclass(frozen=True)
class TenantRetention:
    """Days each kind of a tenant's data is kept (None: until deleted), and which are overridden."""

    tenant: str
    days: Mapping[str, float | None]
    overridden: frozenset[str]

    def cutoff(self, kind: str, now: float) -> float | None:
        """The time before which this kind of data is past its retention; None when kept for ever."""
        days = self.days[kind]
        return None if days is None else now - days * DAY


class RetentionStore(SqliteFile):
    """Per-tenant retention overrides over the defaults."""

    def __init__(self, path: Path, defaults: Mapping[str, float | None]) -> None:
        super().__init__(path, SCHEMA)
        self.defaults = {kind: defaults[kind] for kind in KINDS}

    def of(self, tenant: str) -> TenantRetention:
        """A tenant's retention: its overrides over the defaults."""
        rows = self._read("SELECT kind, days FROM retention WHERE tenant = ?", (tenant,))
        overrides = {str(kind): days for kind, days in rows if kind in KINDS}
        return TenantRetention(tenant, {**self.defaults, **overrides}, frozenset(overrides))

    def override(self, tenant: str, kind: str, days: float | None) -> None:
        """Override one kind for a tenant (None: kept until deleted)."""
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO retention VALUES (?, ?, ?)", (tenant, check_kind(kind), days))

    def reset(self, tenant: str, kind: str) -> bool:
        """Drop a tenant's override of one kind (the default applies again); False if it had none."""
        with self._write() as db:
            sql = "DELETE FROM retention WHERE tenant = ? AND kind = ?"
            return bool(db.execute(sql, (tenant, check_kind(kind))).rowcount)

    def forget(self, tenant: str) -> int:
        """Drop every override of a tenant (its erasure)."""
        with self._write() as db:
            return int(db.execute("DELETE FROM retention WHERE tenant = ?", (tenant,)).rowcount)

    def tenants(self) -> set[str]:
        """Tenants with overrides."""
        return {str(r[0]) for r in self._read("SELECT DISTINCT tenant FROM retention")}
