"""A `verity worker` for tests: the real worker (`app.cli_worker.serve_jobs`) with the hashing embedder,
held before embedding any text that has a word for which `<gate>/hold-<word>` exists.

Run as `python -m tests.app.worker_process GATE NAME` with the VERITY_* settings in the environment.
While held, it writes `<gate>/waiting-<word>-<pid>`, so a test knows which worker reached which file and
can kill it there, deterministically, without waiting on the clock.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from app.cli_worker import serve_jobs
from app.container import Container
from app.settings import Settings
from retrieval.embedders import HashingEmbedder, Vectors


class GatedEmbedder(HashingEmbedder):
    """The hashing embedder, holding texts with a held word until the test releases it."""

    def __init__(self, gate: Path) -> None:
        super().__init__()
        self._gate = gate

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Wait while any word of the texts is held, then embed them."""
        words = {w for text in texts for w in re.findall(r"[a-z]+", text.lower())}
        for hold in sorted(self._gate.glob("hold-*")):
            word = hold.name.removeprefix("hold-")
            if word in words:
                (self._gate / f"waiting-{word}-{os.getpid()}").touch()
                while hold.exists():
                    time.sleep(0.02)
        return super().embed(texts)


def main(gate: str, name: str) -> None:
    """Run the worker until it is stopped, logging what it does (to the test's log file)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
    serve_jobs(Container(Settings(), embedder=GatedEmbedder(Path(gate))), name)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
