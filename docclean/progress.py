"""Messages and progress on stderr: rich bars on a terminal, plain lines otherwise, never on stdout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Reporter:
    """Where the library tells the user what happens; the CLI makes one, tests may pass a quiet one."""

    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet

    def info(self, message: str) -> None:
        if not self.quiet:
            self.console.print(escape(message), soft_wrap=True)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)

    def error(self, message: str) -> None:
        self.console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)

    @contextmanager
    def bar(self, description: str, total: int | None) -> Iterator[ProgressBar]:
        """A progress bar on a terminal; a silent stand-in elsewhere."""
        if not self.live:
            yield ProgressBar(None, None)
            return
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        with progress:
            yield ProgressBar(progress, progress.add_task(description, total=total, status=""))


class ProgressBar:
    """Handle to one bar; every method is a no-op when there is no terminal."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, steps: int = 1, **fields: Any) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=steps, **fields)

    def reset(self, total: int | None, description: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.reset(self._task, total=total, description=description, status="")
