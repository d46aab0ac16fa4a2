"""`verity ask`: stream an answer from a running server (`VERITY_URL`, `VERITY_API_KEY`) or from models
loaded in this process, then show what it rests on: the sources cited, or, when Verity declines, why and
the passages that came closest. Both ways render the same `done` payload the HTTP API sends."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from rich.table import Table

from app.cli_console import console, err

URL_VARIABLE = "VERITY_URL"
KEY_VARIABLE = "VERITY_API_KEY"
CLOSEST_SHOWN = 3


class RemoteError(Exception):
    """The server could not be reached, or answered with an error (the message says which)."""


def server_url() -> str | None:
    """The server `verity ask` talks to, when one is configured."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    return url.rstrip("/") or None


def print_delta(text: str) -> None:
    """Print a piece of the answer as it streams."""
    console.print(text, end="", markup=False, highlight=False)


def show_result(done: dict[str, Any], sources: list[dict[str, Any]]) -> None:
    """After the streamed text: the answer again when its markers were corrected, then its sources, or
    why Verity declined and the closest passages."""
    console.print()
    if done.get("raw_answer") and done["answer"] != done["raw_answer"]:
        console.print("[bold]With its citations corrected:[/bold]")
        console.print(done["answer"], markup=False, highlight=False)
    if done.get("abstained"):
        reason = done.get("declined_because") or "no passage answers the question"
        err.print(f"[yellow]Declined: {reason}.[/yellow]")
        closest = done.get("closest_passages") or sources
        if closest:
            _passages_table("Closest passages", closest[:CLOSEST_SHOWN])
        return
    if done.get("citations"):
        _passages_table("Sources cited", done["citations"])


def _passages_table(title: str, passages: list[dict[str, Any]]) -> None:
    table = Table("#", "source", "passage", title=title, title_justify="left")
    for p in passages:
        text = " ".join(str(p["text"]).split())
        label = str(p["source"]).rsplit("/", 1)[-1]
        if p.get("page") is not None:
            label += f", page {p['page']}"
        if p.get("section"):
            label += f", section: {p['section']}"
        table.add_row(str(p["number"]), label, text[:160] + ("…" if len(text) > 160 else ""))
    console.print(table)


def ask_server(url: str, question: str, collection: str | None, top_k: int | None) -> None:
    """Ask a running Verity server, streaming the answer (no model is loaded in this process)."""
    import httpx

    body: dict[str, object] = {"question": question, "stream": True}
    if collection:
        body["collection"] = collection
    if top_k:
        body["top_k"] = top_k
    key = os.environ.get(KEY_VARIABLE, "").strip()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    sources: list[dict[str, Any]] = []
    done: dict[str, Any] | None = None
    try:
        with httpx.stream(
            "POST", f"{url}/v1/answers", json=body, headers=headers, timeout=httpx.Timeout(10.0, read=600.0)
        ) as response:
            if response.status_code != 200:
                response.read()
                raise RemoteError(f"{url} answered {response.status_code}: {_error_message(response.text)}")
            for event, data in sse_events(response.iter_lines()):
                if event == "sources":
                    sources = data["sources"]
                elif event == "delta":
                    print_delta(data["text"])
                elif event == "done":
                    done = data
                elif event == "error":
                    raise RemoteError(f"{url}: {data['error']['message']}")
    except httpx.HTTPError as exc:
        raise RemoteError(f"cannot reach the Verity server at {url} ({URL_VARIABLE}): {exc}") from exc
    if done is None:
        raise RemoteError(f"{url} ended the answer stream without a done event")
    show_result(done, sources)


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str | None, Any]]:
    """(event, JSON data) of each server-sent event, until `data: [DONE]`."""
    event: str | None = None
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            payload = line[5:].strip()
            if payload == "[DONE]":
                return
            yield event, json.loads(payload)
            event = None


def _error_message(text: str) -> str:
    try:
        return str(json.loads(text)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return text[:200]
