"""A progress display on stderr that only appears once a task has run for a second.

It shows the count, the total and the time left when the total is known
(elapsed time otherwise), and nothing at all when stderr is not a terminal
(pipes, CI, tests), so redirected stderr holds only warnings and error lines.
rich is imported only once a display is due: a task shorter than DELAY_S (a
replay) never loads it, and a step costs one clock read until then.
"""

from __future__ import annotations

import time
from typing import Any

DELAY_S = 1.0


def progress_columns(total: int | None) -> tuple:
    """count/total, a bar and the ETA for a known total; a spinner and a count otherwise."""
    from rich.progress import (BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    if total:
        return (TextColumn("{task.description}"), BarColumn(bar_width=20),
                MofNCompleteColumn(), TextColumn("eta"), TimeRemainingColumn())
    return (SpinnerColumn(), TextColumn("{task.description}"),
            TextColumn("{task.completed} steps"), TimeElapsedColumn())


class LazyProgress:
    """Counts steps; shows a live counter on stderr after DELAY_S, never before."""

    def __init__(self, description: str, total: int | None = None) -> None:
        self.description, self.total = description, total
        self.steps = 0
        self._start = time.monotonic()
        self._progress: Any = None   # a rich Progress once shown
        self._task = None
        self._hidden = False         # stderr is no terminal: never shown

    def __enter__(self) -> "LazyProgress":
        self._start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def set_total(self, total: int) -> None:
        """The total, once the task knows it (a display already shown keeps its columns)."""
        self.total = total
        if self._progress is not None:
            self._progress.update(self._task, total=total)

    def advance(self, steps: int = 1) -> None:
        self.steps += steps
        if self._progress is None:
            if self._hidden or time.monotonic() - self._start < DELAY_S or not self._show():
                return
        self._progress.update(self._task, completed=self.steps)

    def _show(self) -> bool:
        """Start the display if stderr is a terminal; False (for good) if it is not."""
        from rich.console import Console
        from rich.progress import Progress
        console = Console(stderr=True)
        if not console.is_terminal:
            self._hidden = True
            return False
        self._progress = Progress(*progress_columns(self.total), console=console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=self.total)
        return True
