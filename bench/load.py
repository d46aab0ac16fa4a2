"""Sustained load on loopback: one and two gateway processes (`verity serve`) in front of one and two
llama-server engine replicas, each setup driven for a bounded time by closed-loop streaming clients.

    .venv/bin/python -m bench.load [--seconds 30] [--clients 4] [--max-tokens 16] [--slots 2]

Every gateway is a real `python -m app serve` process on its own port, sharing one data directory (as
behind a load balancer; the clients take the gateways in turn). Each request is a streamed plain chat
completion (no retrieval, safety off: this times serving and the engines, not search). Prints per setup
requests per second, p50 and p99 latency, p50 time to first token, the error classes (an HTTP status,
with `+RA` when it carried Retry-After, or `stream:<code>` for an error event inside a stream; under
overload only `429+RA` and `503+RA` are expected) and the resident memory of the gateways and engines
at start and end; then each setup's throughput as a ratio of the one-gateway, one-replica baseline
measured in the same run. A last run overloads one gateway and one replica on purpose (three times the
clients, a queue of 2 and a 5 s deadline) to show what callers get then.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from generation.models import resolve_model_path
from scripts import llama_servers

SETUPS = ((1, 1), (1, 2), (2, 1), (2, 2))
"""(gateways, engine replicas); the first is the baseline."""
OVERLOAD_QUEUE = {"VERITY_QUEUE_DEPTH": "2", "VERITY_QUEUE_DEADLINE_S": "5"}
"""The last run overloads one gateway and one replica on purpose: 3x the clients, a short queue."""


@dataclass
class Result:
    """One request as the client saw it."""

    seconds: float
    first_token_s: float | None
    outcome: str  # "ok", an HTTP status class, or "stream:<code>"


@dataclass
class Run:
    """One setup's results."""

    gateways: int
    replicas: int
    seconds: float
    label: str = ""
    results: list[Result] = field(default_factory=list)
    memory_mib: dict[str, tuple[float, float]] = field(default_factory=dict)


def rss_mib(pid: int) -> float:
    """Resident memory of a process, in MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def one_request(client: httpx.Client, url: str, model: str, max_tokens: int, n: int) -> Result:
    """A streamed chat completion; its latency, time to first token and outcome."""
    body = {
        "model": model,
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "messages": [{"role": "user", "content": f"Write one sentence about the number {n}."}],
    }
    started, first = time.perf_counter(), None
    try:
        with client.stream("POST", f"{url}/v1/chat/completions", json=body) as reply:
            if reply.status_code != 200:
                reply.read()
                retry = "+RA" if "retry-after" in reply.headers else ""
                return Result(time.perf_counter() - started, None, f"{reply.status_code}{retry}")
            for line in reply.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    return Result(
                        time.perf_counter() - started, first, f"stream:{event['error'].get('code')}"
                    )
                if first is None and any(c.get("delta", {}).get("content") for c in event.get("choices", [])):
                    first = time.perf_counter() - started
    except httpx.HTTPError as exc:
        return Result(time.perf_counter() - started, first, f"transport:{type(exc).__name__}")
    return Result(time.perf_counter() - started, first, "ok")


def drive(urls: Sequence[str], model: str, clients: int, seconds: float, max_tokens: int) -> list[Result]:
    """`clients` closed-loop clients, taking the gateways in turn, for `seconds`."""
    results: list[Result] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client_loop(k: int) -> None:
        n = k
        with httpx.Client(timeout=300) as client:
            while time.monotonic() < stop_at:
                result = one_request(client, urls[n % len(urls)], model, max_tokens, n)
                with lock:
                    results.append(result)
                n += clients

    threads = [threading.Thread(target=client_loop, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@contextmanager
def gateways(
    count: int, engine_urls: Sequence[str], data_dir: Path, slots: int, extra: dict[str, str] | None = None
) -> Iterator[list[tuple[str, int]]]:
    """`count` `verity serve` processes over the replicas; yields (url, pid) once all answer."""
    env = {
        **os.environ,
        "VERITY_DATA_DIR": str(data_dir),
        "VERITY_ENGINE_URLS": json.dumps(list(engine_urls)),
        "VERITY_ENGINE_MODEL": llama_servers.ALIAS,
        "VERITY_SAFETY": "off",
        "VERITY_ABSTENTION": "false",
        "VERITY_ENGINE_SLOTS": str(slots),
        "VERITY_QUEUE_DEADLINE_S": "20",
        "VERITY_LOG_FORMAT": "json",
        "HF_HUB_OFFLINE": "1",
        **(extra or {}),
    }
    started = []
    for _ in range(count):
        port = llama_servers.free_port()
        command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append((f"http://127.0.0.1:{port}", process))
    try:
        for url, process in started:
            _wait_ready(url, process)
        yield [(url, process.pid) for url, process in started]
    finally:
        for _, process in started:
            process.terminate()
            process.wait(timeout=60)


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway at {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the gateway at {url} did not start in 300 s")


def measure(
    n_gateways: int,
    engines: Sequence[llama_servers.Replica],
    args: argparse.Namespace,
    data_dir: Path,
    overload: bool = False,
) -> Run:
    """One setup: start its gateways, drive them for the bound, record memory before and after."""
    extra = OVERLOAD_QUEUE if overload else None
    clients = args.clients * 3 if overload else args.clients
    with gateways(n_gateways, [e.url for e in engines], data_dir, args.slots, extra) as running:
        pids = {f"gateway{i + 1}": pid for i, (_, pid) in enumerate(running)}
        pids |= {f"engine{i + 1}": e.process.pid for i, e in enumerate(engines)}
        before = {name: rss_mib(pid) for name, pid in pids.items()}
        urls = [url for url, _ in running]
        with httpx.Client(timeout=300) as client:  # one warm-up request per gateway, not counted
            for url in urls:
                one_request(client, url, llama_servers.ALIAS, args.max_tokens, 0)
        results = drive(urls, llama_servers.ALIAS, clients, args.seconds, args.max_tokens)
        after = {name: rss_mib(pid) for name, pid in pids.items()}
    run = Run(n_gateways, len(engines), args.seconds, "overload" if overload else "", results)
    run.memory_mib = {name: (before[name], after[name]) for name in pids}
    return run


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def report(runs: Sequence[Run]) -> None:
    """Print one line per setup and the ratios to the baseline (the first run)."""
    base = runs[0]
    base_rate = sum(r.outcome == "ok" for r in base.results) / base.seconds
    header = f"{'setup':<23}{'req/s':>7}{'p50 s':>8}{'p99 s':>8}{'ttft p50':>10}{'x base':>8}"
    print(f"{header}  errors / memory MiB")
    for run in runs:
        ok = [r for r in run.results if r.outcome == "ok"]
        rate = len(ok) / run.seconds
        ttft = [r.first_token_s for r in ok if r.first_token_s is not None]
        errors = Counter(r.outcome for r in run.results if r.outcome != "ok")
        memory = " ".join(f"{k} {a:.0f}->{b:.0f}" for k, (a, b) in run.memory_mib.items())
        setup = f"{run.gateways} gw, {run.replicas} eng {run.label}".strip()
        seconds = [r.seconds for r in ok]
        p50, p99 = percentile(seconds, 50), percentile(seconds, 99)
        ttft_p50 = statistics.median(ttft) if ttft else float("nan")
        ratio = rate / base_rate if base_rate else float("nan")
        figures = f"{rate:>7.2f}{p50:>8.2f}{p99:>8.2f}{ttft_p50:>10.2f}{ratio:>8.2f}"
        print(f"{setup:<23}{figures}  {dict(errors) or 'none'} / {memory}")


def main() -> None:
    """Run every setup for the bound and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="load per setup")
    parser.add_argument("--clients", type=int, default=4, help="concurrent closed-loop clients")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--slots", type=int, default=2, help="parallel slots per engine replica")
    parser.add_argument("--threads", type=int, default=1, help="threads per engine replica")
    parser.add_argument("--model", default=llama_servers.DEFAULT_MODEL)
    args = parser.parse_args()
    model = resolve_model_path(args.model, Path("~/.cache/verity/models").expanduser())
    print(
        f"load: {args.clients} clients, {args.seconds:g}s per setup, max_tokens {args.max_tokens}, "
        f"{args.slots} slots x {args.threads} thread per replica, {os.cpu_count()} CPUs"
    )
    runs = []
    with (
        llama_servers.replicas(model, 2, args.threads, args.slots) as engines,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for n_gateways, n_replicas in SETUPS:
            data_dir = Path(tmp) / f"g{n_gateways}r{n_replicas}"
            runs.append(measure(n_gateways, engines[:n_replicas], args, data_dir))
        runs.append(measure(1, engines[:1], args, Path(tmp) / "overload", overload=True))
    report(runs)


if __name__ == "__main__":
    main()
