"""Operator decisions about engines, shared by every gateway and the CLI: drained replicas and the
canary's decision, kept in one small JSON file in the data directory (`DATA_DIR/rollout.json`).

Gateways that share the data directory (a shared volume in deploy/compose.yaml) see a change on their
next request: the file is re-read when its modification time changes. Writes take an exclusive lock on
a lock file beside it, then replace the file atomically, so two writers never lose each other's change.

    {"drained": ["http://engine-b:8080"],
     "canary": {"model": "qwen-1.5b-v2", "decision": "rolled_back", "reason": "...", "at": 1764672000}}

The canary's decision belongs to the canary model it was made for: configuring a new canary model
starts it "active" again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from generation.engines.canary import Decision

log = logging.getLogger("verity.rollout")

DECISIONS: tuple[Decision, ...] = ("active", "promoted", "rolled_back")


class RolloutFile:
    """The drained replicas and the canary decision in a JSON file; see the module's docstring."""

    def __init__(self, path: Path, canary_model: str = "") -> None:
        self._path, self._canary_model = path, canary_model
        self._cache: tuple[float, dict[str, Any]] = (-1.0, {})
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            mtime = self._path.stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            return {}
        with self._lock:
            if mtime != self._cache[0]:
                try:
                    self._cache = (mtime, dict(json.loads(self._path.read_text())))
                except (OSError, ValueError):
                    return self._cache[1]  # a torn read cannot happen (atomic replace); keep the last
            return self._cache[1]

    @contextmanager
    def _updating(self) -> Iterator[dict[str, Any]]:
        """The current content, to change in place; written back atomically under an exclusive lock."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = dict(json.loads(self._path.read_text())) if self._path.exists() else {}
                yield state
                tmp = self._path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
                os.replace(tmp, self._path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def drained(self) -> frozenset[str]:
        """The replica URLs drained for maintenance."""
        return frozenset(str(url) for url in self._read().get("drained", []))

    def set_drained(self, url: str, drained: bool) -> frozenset[str]:
        """Drain (or return to service) the replica at `url`; returns the drained set."""
        with self._updating() as state:
            urls = set(state.get("drained", []))
            (urls.add if drained else urls.discard)(url)
            state["drained"] = sorted(urls)
        return frozenset(urls)

    def canary(self) -> dict[str, Any]:
        """The canary record: model, decision, reason, at (empty when none was ever decided)."""
        return dict(self._read().get("canary") or {})

    def decision(self) -> Decision:
        """The configured canary's decision ("active" until promoted or rolled back)."""
        record = self.canary()
        decided = record.get("decision")
        if record.get("model") != self._canary_model or decided not in DECISIONS:
            return "active"
        return cast(Decision, decided)

    def decide(self, decision: Decision, reason: str) -> None:
        """Record a decision about the configured canary model."""
        with self._updating() as state:
            state["canary"] = {
                "model": self._canary_model,
                "decision": decision,
                "reason": reason,
                "at": int(time.time()),
            }
