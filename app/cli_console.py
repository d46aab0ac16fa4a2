"""What every `verity` command prints through: the consoles and the Rich progress bars.

Messages are never wrapped at the terminal's width (`soft_wrap`): a path in a message stays on one line
to copy, whatever the width. Tables fit the terminal; when the output is not a terminal (a pipe, a file,
a test) they are laid out PIPE_WIDTH wide, whatever COLUMNS says, so their cells are whole.
"""

from __future__ import annotations

from collections.abc import Callable

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
