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


def parse_sse_with_ids(text: str) -> list[tuple[str | None, str | None, Any]]:
    """(event name, id, data) per frame; data is JSON-decoded unless it is `[DONE]`."""
    frames: list[tuple[str | None, str | None, Any]] = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        if "data" in fields:
            data = fields["data"]
            decoded = data if data == "[DONE]" else json.loads(data)
            frames.append((fields.get("event"), fields.get("id"), decoded))
    return frames
