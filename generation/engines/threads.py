"""How many llama.cpp threads to run a generation with: all the cores, unless other work is running.

On an idle two-core machine two threads read a prompt about 1.8 times as fast as one; when other
processes keep the cores busy, llama.cpp's threads wait on each other at every barrier and two threads
are slower than one (docs/performance.md has the figures). So the adaptive rule looks, just before each
generation, at how many tasks are running besides the caller (`/proc/loadavg`'s running count, the
median of a few readings) and gives the engine the cores they leave free, at least one.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

LOADAVG = Path("/proc/loadavg")


def running_tasks(path: Path = LOADAVG) -> int | None:
    """Tasks running or runnable now, the caller included (None where /proc/loadavg is not readable)."""
    try:
        return int(path.read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def free_cores(cores: int, readings: list[int]) -> int:
    """The cores left to the engine when `readings` tasks (the caller among them) are running: at least 1."""
    others = statistics.median(readings) - 1
    return max(1, min(cores, cores - int(others)))


def adaptive_threads(
    cores: int | None = None,
    read: Callable[[], int | None] = running_tasks,
    samples: int = 5,
    gap_s: float = 0.002,
) -> int:
    """Threads for the next generation: the cores that other running work leaves free (all of them when
    the running count cannot be read)."""
    cores = cores or os.cpu_count() or 1
    readings: list[int] = []
    for i in range(samples):
        value = read()
        if value is None:
            return cores
        readings.append(value)
        if i + 1 < samples:
            time.sleep(gap_s)
    return free_cores(cores, readings)
