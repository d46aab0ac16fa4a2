"""Abandoned requests, measured through a real server in the same run.

    .venv/bin/python -m bench.abandoned [--abandoned 10] [--words 150]

A plain chat with a scripted engine that takes 10 ms a word is timed alone; then `--abandoned`
non-streamed chats are sent and their clients leave after 0.3 s; then one more chat is timed. Prints
both times, their ratio, and the ledger's statuses: an abandoned request is cancelled and settled as cut
short (499), so the next one does not wait behind work no one will read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from app.container import Container
from app.settings import Settings
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import serve

BODY = {"model": "scripted", "messages": [{"role": "user", "content": "say quack"}]}


class SlowEngine(ScriptedEngine):
    """A word every 10 ms."""

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        for word in super().stream(messages, params):
            time.sleep(0.01)
            yield word


async def timed(client: httpx.AsyncClient) -> float:
    start = time.perf_counter()
    response = await client.post("/v1/chat/completions", json=BODY, timeout=600)
    response.raise_for_status()
    return time.perf_counter() - start


async def abandon(client: httpx.AsyncClient) -> None:
    with contextlib.suppress(httpx.TimeoutException):
        await client.post("/v1/chat/completions", json=BODY, timeout=0.3)


async def measure(url: str, abandoned: int) -> tuple[float, float]:
    async with httpx.AsyncClient(base_url=url) as client:
        await timed(client)  # warm up
        alone = await timed(client)
        await asyncio.gather(*(abandon(client) for _ in range(abandoned)))
        return alone, await timed(client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abandoned", type=int, default=10)
    parser.add_argument("--words", type=int, default=150)
    args = parser.parse_args()
    engine = SlowEngine(lambda _: " ".join(["quack"] * args.words))
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), max_answer_tokens=args.words, safety="off")
    container = Container(settings, embedder=SentenceTransformerEmbedder(), engine=engine)
    server = serve(container)
    try:
        alone, after = asyncio.run(measure(next(server), args.abandoned))
        time.sleep(1)
    finally:
        server.close()
    statuses = sorted(r.status for r in container.gateway.store.usage("default"))
    print(f"alone {alone:.2f} s; after {args.abandoned} abandoned {after:.2f} s (x{after / alone:.2f})")
    print(f"ledger statuses: {statuses}")
    container.close()


if __name__ == "__main__":
    main()
