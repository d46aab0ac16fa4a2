"""A cache of search results, invalidated whenever the index publishes a new version.

Keys hold the index version, the scope (tenant and collection), the query, top_k and the search mode,
so a tenant can only ever be answered from its own earlier searches, and no result outlives the
version it was computed on: the first lookup under a newer version empties the cache. The searcher
looks up under the version the catalog holds now (`ChunkIndex.refresh`), so a version published by
another process empties this process's cache too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class VersionedCache(Generic[T]):
    """A least-recently-used map of at most `capacity` entries, emptied when the version changes."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a cache needs room for at least one entry")
        self._capacity = capacity
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._version: int | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, version: int, key: Hashable) -> T | None:
        """The value stored for `key` under this index version, if any."""
        with self._lock:
            self._follow(version)
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, version: int, key: Hashable, value: T) -> None:
        """Store `value` for `key`, computed under this index version."""
        with self._lock:
            self._follow(version)
            if version != self._version:
                return  # computed under an older version than the cache now follows
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _follow(self, version: int) -> None:
        if self._version is None or version > self._version:
            self._entries.clear()
            self._version = version
