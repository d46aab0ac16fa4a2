"""A real `verity serve` killed with SIGKILL mid-job resumes the job on its next start and finishes it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_MODEL

pytestmark = pytest.mark.llm

PDFS_FIRST = 6  # slow files first, so the kill lands mid-job


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def verity_server(data_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`verity serve` in its own process, ready for requests; killed at the end if still alive."""
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir), "VERITY_LLM_MODEL": TEST_MODEL}
    command = [str(Path(sys.executable).parent / "verity"), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, "the server exited while starting"
            assert time.monotonic() < deadline, "the server did not start in time"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()


def job_state(port: int, job_id: str) -> dict[str, Any]:
    response = httpx.get(f"http://127.0.0.1:{port}/v1/jobs/{job_id}", timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_job_cut_by_kill_9_resumes_when_the_server_starts_again(tmp_path: Path, docs_mixed: Path) -> None:
    files = sorted(docs_mixed.iterdir(), key=lambda p: (p.suffix != ".pdf", p.name))[:PDFS_FIRST]
    data_dir, port = tmp_path / "data", free_port()
    with verity_server(data_dir, port) as server:
        upload = [("file", (f.name, f.read_bytes())) for f in files]
        created = httpx.post(
            f"http://127.0.0.1:{port}/v1/jobs", files=upload, data={"collection": "c"}, timeout=60
        )
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        deadline = time.monotonic() + 300
        while (before := job_state(port, job_id))["files_done"] < 1:
            assert time.monotonic() < deadline, "no file was ingested in time"
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
    assert before["state"] == "running" and before["files_done"] < len(files), "the kill came too late"

    with verity_server(data_dir, port):
        deadline = time.monotonic() + 300
        while (after := job_state(port, job_id))["finished_at"] is None:
            assert time.monotonic() < deadline, "the resumed job did not finish"
            time.sleep(0.2)
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/documents", params={"collection": "c"}, timeout=10)
    assert after["state"] == "succeeded" and after["errors"] == [] and after["resumed"] == 1
    assert after["files_done"] == len(files)
    titles = sorted(d["source"] for d in listed.json()["data"])
    assert titles == sorted(f.name for f in files), "every file is filed exactly once"
    assert not list((data_dir / "uploads" / "incoming").iterdir()), "the incoming uploads are cleared"
