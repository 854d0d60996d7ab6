"""Progress of `vp2pd load`: one bar per object with its rate and ETA (rich.progress).

Shown only on a terminal, or when asked (`--progress`): a CI log gets no bars (rich redraws in
place; a log would fill with frames). The loader reports per batch, rich redraws from its own
thread a few times a second, so the bars cost the load nothing measurable.
"""

from __future__ import annotations

import sys
from typing import Protocol

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

REFRESH_PER_S = 4


class LoadProgress(Protocol):
    def start(self, step: str, total: int, done: int) -> None: ...

    def advance(self, step: str, n: int) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    """What a load without bars reports to: nothing."""

    def start(self, step: str, total: int, done: int) -> None:
        pass

    def advance(self, step: str, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class RateColumn(ProgressColumn):
    """Records per second (rich's own speed column speaks of bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-/s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


class BarProgress:
    def __init__(self, console: Console | None = None) -> None:
        self.bars = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                             RateColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                             console=console or Console(stderr=True), refresh_per_second=REFRESH_PER_S)
        self.tasks: dict[str, TaskID] = {}

    def start(self, step: str, total: int, done: int) -> None:
        if step in self.tasks:  # a later pass of the same step: the bar goes on
            return
        if not self.tasks:
            self.bars.start()  # the refresh thread, from the first object on
        # The rate and ETA count this run's work only: `done` rows were loaded before (a resume).
        self.tasks[step] = self.bars.add_task(step, total=total, completed=done)

    def advance(self, step: str, n: int) -> None:
        if n and step in self.tasks:
            self.bars.advance(self.tasks[step], n)

    def close(self) -> None:
        if self.tasks:
            self.bars.stop()


def for_terminal(asked: bool | None, stream: object = None) -> LoadProgress:
    """Bars if asked, none if refused; by default only when stderr is a terminal."""
    stream = stream if stream is not None else sys.stderr
    show = asked if asked is not None else bool(getattr(stream, "isatty", lambda: False)())
    return BarProgress() if show else NoProgress()
