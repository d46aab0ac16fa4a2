"""Parse server-sent events."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def parse_sse(lines: Iterable[str]) -> list[tuple[str | None, Any]]:
    """(event name, data) per frame; data is JSON-decoded unless it is `[DONE]`."""
    frames: list[tuple[str | None, Any]] = []
    event: str | None = None
    data: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            data.append(line[len("data: ") :])
        elif not line and data:
            payload = "\n".join(data)
            frames.append((event, payload if payload == "[DONE]" else json.loads(payload)))
            event, data = None, []
    return frames


def without_safety(frames: list[tuple[str | None, Any]]) -> list[tuple[str | None, Any]]:
    """The frames other than `safety` events (which the safety gate adds around the answer)."""
    return [frame for frame in frames if frame[0] != "safety"]
