"""A bounded, thread-safe cache of filter results keyed by the hash of the content checked."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def content_key(kind: str, text: str) -> str:
    """The cache key of `text` checked by filter `kind`: a SHA-256 of both."""
    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()


class ContentCache(Generic[T]):
    """Least-recently-used results, computed once per distinct content."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, T] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        self.hits = 0

    def lookup(self, kind: str, text: str) -> T | None:
        """The cached result for (`kind`, `text`), or None."""
        key = content_key(kind, text)
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key]

    def store(self, kind: str, text: str, value: T) -> None:
        """Keep `value` as the result for (`kind`, `text`)."""
        with self._lock:
            self._entries[content_key(kind, text)] = value
            if len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def get_or_compute(self, kind: str, text: str, compute: Callable[[str], T]) -> T:
        """The cached result for (`kind`, `text`), computing and storing it on a miss."""
        found = self.lookup(kind, text)
        if found is not None:
            return found
        value = compute(text)
        self.store(kind, text, value)
        return value
