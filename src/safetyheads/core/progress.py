"""Rich progress bars that can be switched off (tests, library use)."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress


class Progress:
    """A context manager wrapping ``rich.progress.Progress``; a no-op when disabled."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bar: RichProgress | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def task(self, description: str, total: int | None) -> int:
        return self._bar.add_task(description, total=total) if self._bar is not None else 0

    def advance(self, task: int, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(task, n)
