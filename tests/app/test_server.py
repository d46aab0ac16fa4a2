"""A real uvicorn server on loopback: streaming over real HTTP, and a client that leaves mid-stream."""

from __future__ import annotations

import httpx
import pytest

from tests.app.conftest import WatchedEngine
from tests.app.sse import parse_sse, without_safety

pytestmark = pytest.mark.llm


def test_stream_over_real_http(served: tuple[str, WatchedEngine]) -> None:
    url, _ = served
    request = {"question": "Which file formats can Verity read?", "collection": "demo", "stream": True}
    with httpx.stream("POST", f"{url}/v1/answers", json=request, timeout=120) as response:
        assert response.status_code == 200
        frames = without_safety(parse_sse(response.iter_lines()))
    assert frames[0][0] == "sources" and frames[-2][0] == "done" and frames[-1][1] == "[DONE]"
    assert "PDF" in frames[-2][1]["answer"]


def test_client_leaving_mid_stream_stops_generation(served: tuple[str, WatchedEngine]) -> None:
    url, watched = served
    watched.closed_early.clear()
    watched.finished.clear()
    question = "Describe in detail every step of how Verity ingests a file and answers a question."
    request = {"question": question, "collection": "demo", "stream": True}
    with httpx.stream("POST", f"{url}/v1/answers", json=request, timeout=120) as response:
        for line in response.iter_lines():
            if line.startswith("event: delta"):
                break
    assert watched.finished.wait(60), "generation went on after the client left"
    assert watched.closed_early.is_set()
    assert watched.produced[-1] < 300
    health = httpx.get(f"{url}/healthz", timeout=30)
    assert health.status_code == 200
