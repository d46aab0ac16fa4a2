"""Fair scheduling and embedding micro-batches, measured through a real server in the same run.

    .venv/bin/python -m bench.fairness [--model qwen2.5-0.5b-instruct-q4_k_m] [--threads 1] [--out F]

1. Latency: a quiet tenant sends requests one at a time, alone, then while another tenant floods the
   engine (llama.cpp, one generation at a time) from many concurrent clients; once with the weighted
   fair queue and once first-come-first-served. Prints the quiet tenant's mean latency under flood
   against alone (the ratio), for both.
2. Shares: two backlogged tenants, one with 4x the concurrent clients of the other; prints each one's
   requests served in a fixed window and Jain's fairness index, fair queue against FIFO.
3. Embeddings: 32 concurrent clients each embedding one short text at a time; the micro-batcher against
   naive per-request model calls (a worker thread each, as before the gateway). Prints the ratio.

Writes results/fairness.json and docs/img/fairness.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx
import uvicorn

from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.gateway.scheduler import EmbeddingBatcher, FairScheduler
from app.http.main import create_app
from app.settings import Settings
from generation.models import QWEN_0_5B

RESULTS = Path("results/fairness.json")
PLOT = Path("docs/img/fairness.png")


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index: 1 when every value is equal, 1/n when one takes everything."""
    total = sum(values)
    return total * total / (len(values) * sum(v * v for v in values)) if total else 0.0


def start_server(container: Container) -> tuple[str, uvicorn.Server]:
    """Serve on a free loopback port in a thread."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=0, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", server


class Load:
    """Clients of one server: chat requests under a tenant's key."""

    def __init__(self, url: str, keys: dict[str, str], model: str) -> None:
        self.url, self.keys, self.model = url, keys, model

    async def ask(self, client: httpx.AsyncClient, tenant: str, i: int) -> float:
        body = {
            "model": self.model,
            "max_tokens": 16,
            "messages": [{"role": "user", "content": f"Count to {i}."}],
        }
        start = time.perf_counter()
        response = await client.post(
            "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {self.keys[tenant]}"}
        )
        response.raise_for_status()
        return time.perf_counter() - start

    async def flood(
        self, client: httpx.AsyncClient, tenant: str, stop: asyncio.Event, served: list[int]
    ) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            await self.ask(client, tenant, i)
            if not stop.is_set():
                served.append(1)

    async def quiet(self, flooders: int, count: int) -> list[float]:
        """The quiet tenant's latencies while `flooders` clients of the other tenant keep the engine busy."""
        async with httpx.AsyncClient(base_url=self.url, timeout=600) as client:
            stop, served = asyncio.Event(), list[int]()
            tasks = [asyncio.create_task(self.flood(client, "flood", stop, served)) for _ in range(flooders)]
            await asyncio.sleep(1.0 if flooders else 0)
            latencies = [await self.ask(client, "quiet", i) for i in range(count)]
            stop.set()
            await asyncio.gather(*tasks)
        return latencies

    async def shares(self, clients: dict[str, int], seconds: float) -> dict[str, int]:
        """Requests each tenant got served in a window while all keep their clients busy."""
        async with httpx.AsyncClient(base_url=self.url, timeout=600) as client:
            stop = asyncio.Event()
            served: dict[str, list[int]] = {t: [] for t in clients}
            tasks = [
                asyncio.create_task(self.flood(client, t, stop, served[t]))
                for t, n in clients.items()
                for _ in range(n)
            ]
            await asyncio.sleep(seconds)
            stop.set()
            await asyncio.gather(*tasks)
        return {t: len(v) for t, v in served.items()}


def scheduling(model: str, threads: int, flooders: int, count: int, window: float) -> dict[str, Any]:
    """Phases 1 and 2 on one server, with the fair queue and then with FIFO."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), llm_model=model, llm_threads=threads, max_answer_tokens=16)
        container = Container(settings)
        gateway = container.gateway
        keys = {t: create_key(gateway.store, gateway.clock, t, Scopes())[0] for t in ("quiet", "flood")}
        url, server = start_server(container)
        load = Load(url, keys, container.engine.name)
        asyncio.run(load.quiet(0, 2))  # warm up
        alone = asyncio.run(load.quiet(0, count))
        out: dict[str, Any] = {"alone_s": statistics.mean(alone)}
        for policy in ("fair", "fifo"):
            gateway.scheduler = FairScheduler(1, 256, 600, fifo=policy == "fifo")
            flooded = asyncio.run(load.quiet(flooders, count))
            shares = asyncio.run(load.shares({"quiet": 1, "flood": 4}, window))
            out[policy] = {
                "quiet_under_flood_s": statistics.mean(flooded),
                "latency_ratio": statistics.mean(flooded) / statistics.mean(alone),
                "served_1_vs_4_clients": shares,
                "jain_index": jain(list(shares.values())),
            }
            print(f"{policy}: quiet tenant {out[policy]['quiet_under_flood_s']:.2f}s under flood vs "
                  f"{out['alone_s']:.2f}s alone (x{out[policy]['latency_ratio']:.2f}); served {shares}, "
                  f"Jain's index {out[policy]['jain_index']:.3f}", flush=True)  # fmt: skip
        server.should_exit = True
        container.close()
    return out


def embeddings(clients: int, rounds: int) -> dict[str, float]:
    """Phase 3: the micro-batcher against one model call per request, both with `clients` at once."""
    container = Container(Settings())
    embedder = container.embedder
    texts = [f"question {i} about ducks, geese and the ponds they swim in" for i in range(clients * rounds)]
    embedder.embed(texts[:64])  # warm up

    def naive() -> float:
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(lambda t: embedder.embed([t]), texts))
        return time.perf_counter() - start

    async def batched() -> float:
        batcher = EmbeddingBatcher(embedder.embed)

        async def client(offset: int) -> None:
            for r in range(rounds):
                await batcher.embed([texts[r * clients + offset]])

        start = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        return time.perf_counter() - start

    naive_s, batched_s = naive(), asyncio.run(batched())
    out = {"requests": len(texts), "naive_rps": len(texts) / naive_s, "batched_rps": len(texts) / batched_s}
    out["ratio"] = out["batched_rps"] / out["naive_rps"]
    print(f"embeddings, {clients} concurrent clients: naive {out['naive_rps']:.0f} req/s, micro-batched "
          f"{out['batched_rps']:.0f} req/s (x{out['ratio']:.2f})", flush=True)  # fmt: skip
    return out


def plot(result: dict[str, Any], to: Path = PLOT) -> None:
    """Bars: the quiet tenant's latency ratio and Jain's index per policy; embedding throughput."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    s = result["scheduling"]
    axes[0].bar(
        ["alone", "fair queue", "FIFO"],
        [s["alone_s"], s["fair"]["quiet_under_flood_s"], s["fifo"]["quiet_under_flood_s"]],
    )
    axes[0].set_title("quiet tenant's mean latency (s)")
    axes[1].bar(["fair queue", "FIFO"], [s["fair"]["jain_index"], s["fifo"]["jain_index"]])
    axes[1].set_ylim(0, 1.05)
    axes[1].set_title("Jain's index, 1 vs 4 clients")
    e = result["embeddings"]
    axes[2].bar(["per request", "micro-batched"], [e["naive_rps"], e["batched_rps"]])
    axes[2].set_title("embeddings, 32 clients (req/s)")
    fig.suptitle("python -m bench.fairness")
    fig.tight_layout()
    to.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(to, dpi=120)


def main() -> None:
    """Run the benchmark, print its figures, write JSON and a plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=QWEN_0_5B.name)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--flooders", type=int, default=6)
    parser.add_argument("--requests", type=int, default=5, help="quiet requests per phase")
    parser.add_argument("--window", type=float, default=20.0, help="seconds of the shares phase")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS, help="the JSON to write (its plot beside it)")
    args = parser.parse_args()
    result = {
        "embeddings": embeddings(args.clients, args.rounds),
        "scheduling": scheduling(args.model, args.threads, args.flooders, args.requests, args.window),
        "args": vars(args),
    }
    drawn = PLOT if args.out == RESULTS else args.out.with_suffix(".png")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    plot(result, drawn)
    print(f"written {args.out} and {drawn}")


if __name__ == "__main__":
    main()
