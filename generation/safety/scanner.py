"""The passage scanner: context-filter scans of chunk texts, remembered in memory and in a verdict store.

The ingest pipeline hands it every new chunk, so a retrieved passage's scan is a lookup at query time;
the safety gate asks it about the passages a question retrieved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from generation.safety.cache import ContentCache
from generation.safety.context import ContextFilter, PassageScan
from generation.safety.verdicts import VerdictStore, verdict_key


class PassageScanner:
    """Scans texts with the context filter once per distinct text and head version."""

    def __init__(
        self, context: ContextFilter, verdicts: VerdictStore | None = None, cache_entries: int = 10_000
    ) -> None:
        self._context = context
        self._verdicts = verdicts
        self._memory: ContentCache[PassageScan] = ContentCache(cache_entries)

    def scan(self, texts: Sequence[str]) -> list[PassageScan]:
        """Scans of `texts`: from memory, then the verdict store; the rest scanned in one batch and kept."""
        distinct = list(dict.fromkeys(texts))
        found = {t: hit for t in distinct if (hit := self._memory.lookup("context", t)) is not None}
        missing = [t for t in distinct if t not in found]
        if missing and self._verdicts is not None:
            found.update(self._stored(missing))
        unscanned = [t for t in missing if t not in found]
        if unscanned:
            scanned = dict(zip(unscanned, self._context.scan_many(unscanned), strict=True))
            found.update(scanned)
            if self._verdicts is not None:
                version = self._context.version
                self._verdicts.put([(verdict_key(version, t), s) for t, s in scanned.items()])
        for text in missing:
            self._memory.store("context", text, found[text])
        return [found[t] for t in texts]

    def close(self) -> None:
        """Close the verdict store, if any."""
        if self._verdicts is not None:
            self._verdicts.close()

    def _stored(self, texts: Sequence[str]) -> dict[str, PassageScan]:
        assert self._verdicts is not None
        keys = {t: verdict_key(self._context.version, t) for t in texts}
        stored = self._verdicts.get(list(keys.values()))
        return {t: stored[k] for t, k in keys.items() if k in stored}


SCAN_BATCH = 32


@dataclass(frozen=True)
class ScanSummary:
    """How many chunks a backfill looked at, and how many of them hold planted instructions."""

    chunks: int
    flagged: int


def scan_chunks(
    scanner: PassageScanner,
    texts: Sequence[str],
    on_progress: Callable[[int, int], None] = lambda done, total: None,
) -> ScanSummary:
    """Scan every text in batches (verdicts already stored are read, not recomputed), e.g. all chunks
    ingested before the scanner existed or before the context head was retrained."""
    flagged = 0
    for start in range(0, len(texts), SCAN_BATCH):
        flagged += sum(s.flagged for s in scanner.scan(texts[start : start + SCAN_BATCH]))
        on_progress(min(start + SCAN_BATCH, len(texts)), len(texts))
    return ScanSummary(len(texts), flagged)
