"""A progress display on stderr that only appears once a task has run for a second."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

DELAY_S = 1.0


class LazyProgress:
    """Counts steps; shows a live counter on stderr after DELAY_S, never before."""

    def __init__(self, description: str, total: int | None = None) -> None:
        self.description, self.total = description, total
        self.steps = 0
        self._start = time.monotonic()
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> "LazyProgress":
        self._start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, steps: int = 1) -> None:
        self.steps += steps
        if self._progress is None:
            if time.monotonic() - self._start < DELAY_S:
                return
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                      TextColumn("{task.completed} steps"), TimeElapsedColumn(),
                                      console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total)
        self._progress.update(self._task, completed=self.steps)
