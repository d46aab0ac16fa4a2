"""One gateway process for the multi-process tests: `verity serve`'s start-up over the settings in the
environment (VERITY_DATABASE_URL, VERITY_REDIS_URL, limits...), with the parts a test needs no model for:
the hashing embedder, the scripted engine, and a clock stopped at VERITY_TEST_CLOCK (every process of a
test on one instant, so no bucket refills while the test runs).

    python -m tests.app.gateway.gateway_server PORT
"""

from __future__ import annotations

import os
import sys

import uvicorn

from app.container import Container
from app.gateway.clock import FakeClock
from app.http.main import create_app
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import HashingEmbedder


def main(port: int) -> None:
    """Serve on 127.0.0.1:`port` until stopped, as `verity serve` does."""
    clock = FakeClock(float(os.environ["VERITY_TEST_CLOCK"]))
    container = Container(
        Settings(), embedder=HashingEmbedder(), engine=ScriptedEngine(lambda _: "quack"), clock=clock
    )
    container.gateway.store.release_abandoned_holds()
    uvicorn.run(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    container.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
