"""Start or stop Debian's `redis-server` on a loopback port, for the test suite and for one machine's use.

    python scripts/redis_server.py start .verity/redis [--port 63790]   # prints VERITY_REDIS_URL=...
    python scripts/redis_server.py stop .verity/redis [--port 63790]

Installs the Debian package when the binary is missing and apt-get is there (as root). The server
listens on 127.0.0.1 only, with no password, so it is for one machine's own use; Verity itself only ever
connects to `VERITY_REDIS_URL`, and nothing at run time imports this file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class RedisLaunchError(RuntimeError):
    """redis-server could not be found, installed, started or stopped."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_binary() -> Path:
    """The redis-server binary, installed from Debian first when it is missing and apt-get can."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=False, env=env)
        found = shutil.which("redis-server")
        if found:
            return Path(found)
    raise RedisLaunchError("no redis-server: install Debian's package (apt-get install redis-server)")


@dataclass
class RedisServer:
    """One redis-server with its files in `data_dir`, on 127.0.0.1:`port`."""

    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        """The server's URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        """Start the server (daemonised) and wait until it answers; returns its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [str(redis_binary()), "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--dir", str(self.data_dir), "--daemonize", "yes", "--save", "", "--appendonly", "no"]
        command += ["--pidfile", str(self.data_dir / "redis.pid")]
        command += ["--logfile", str(self.data_dir / "redis.log")]
        subprocess.run(command, check=True, capture_output=True)
        for _ in range(200):
            if self._ping():
                return self.url
            time.sleep(0.05)
        log = self.data_dir / "redis.log"
        raise RedisLaunchError(f"redis-server did not answer on port {self.port}; see {log}")

    def stop(self) -> None:
        """Stop the server if it runs."""
        pid_file = self.data_dir / "redis.pid"
        if not pid_file.is_file():
            return
        try:
            os.kill(int(pid_file.read_text().strip()), 15)
        except (ProcessLookupError, ValueError):
            return
        for _ in range(200):
            if not self._ping():
                return
            time.sleep(0.05)

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def main() -> None:
    """Parse the command and start or stop the server."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--port", type=int, default=63790)
    args = parser.parse_args()
    server = RedisServer(args.data_dir.resolve(), args.port)
    if args.action == "start":
        print(f"VERITY_REDIS_URL={server.start()}")
    else:
        server.stop()
        print(f"stopped the server of {args.data_dir}")


if __name__ == "__main__":
    main()
