"""The storage layer's errors.

StorageError
├── StorageUnavailable   the database cannot be reached
└── SchemaTooNew         the database was migrated by a newer Verity than this one
"""

from __future__ import annotations


class StorageError(RuntimeError):
    """A store's database failed in a way a person can act on."""


class StorageUnavailable(StorageError):
    """The database cannot be reached (wrong URL, server down)."""


class SchemaTooNew(StorageError):
    """The database holds schema versions this Verity does not know: it was written by a newer one."""
