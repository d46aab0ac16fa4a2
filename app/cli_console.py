"""What every `verity` command prints through: the consoles and the Rich progress bars.

Messages are never wrapped at the terminal's width (`soft_wrap`): a path in a message stays on one line
to copy, whatever the width. Tables fit the terminal; when the output is not a terminal (a pipe, a file,
a test) they are laid out PIPE_WIDTH wide, whatever COLUMNS says, so their cells are whole.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator

from rich.console import Console, ConsoleDimensions
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

PIPE_WIDTH = 200


class CliConsole(Console):
    """A Rich console that is PIPE_WIDTH wide when its output is not a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size, or PIPE_WIDTH by 25 when the output is not a terminal."""
        if self.is_terminal:
            return super().size
        return ConsoleDimensions(PIPE_WIDTH, 25)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = CliConsole(soft_wrap=True)
err = CliConsole(stderr=True, soft_wrap=True)


def progress_bars() -> Progress:
    """Rich progress bars on stderr."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


def stage_reporter(bar: Progress) -> Callable[[str, int, int], None]:
    """A progress callback that shows each named stage as its own bar."""
    tasks: dict[str, TaskID] = {}

    def show(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    return show


QUIET_ENVIRONMENT = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def quiet_libraries() -> None:
    """No third-party progress bars, advisories or warnings: through the environment for libraries not yet
    imported, and through their own switches for those already imported (they read it only at import)."""
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    warnings.filterwarnings("ignore")
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].utils.disable_progress_bars()
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what libraries write to stderr (llama.cpp, natively and through Python's `sys.stderr`) to
    /dev/null, while the `err` console keeps writing to the terminal. A no-op when stderr is not a real
    file (under a test runner)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    previous = sys.stderr
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
    terminal = os.fdopen(saved, "w", buffering=1)
    err.file = terminal
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (closed below)
    try:
        yield
    finally:
        sys.stderr.close()
        sys.stderr = previous
        terminal.flush()
        os.dup2(saved, fd)
        err.file = previous
        terminal.close()
