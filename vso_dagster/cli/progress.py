"""Live progress of a long command, on stderr: the phase, N of M, the elapsed time, and a line for
each slice as it finishes. Stdout keeps the report (a table, or with --json the JSON) alone."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.text import Text

from ..launch.results import Outcome, Progress
from .tables import COLOURS

err = Console(stderr=True, highlight=False)


class _Count(MofNCompleteColumn):
    """N/M, for a phase that is counted; nothing for one that is not."""

    def render(self, task):
        return Text("") if task.total is None else super().render(task)


class LiveProgress(Progress, logging.Handler):
    """Also listens to the core's `vso.progress` records (core/base/progress.py), so a loop inside a
    run this process executes moves the bar too."""

    def __init__(self, first_phase: str, total: int | None = None):
        logging.Handler.__init__(self, logging.DEBUG)
        self.bar = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), _Count(),
                                TimeElapsedColumn(), console=err, transient=True,
                                disable=not err.is_terminal)  # a log file or a pipe gets the slices' lines only
        self.first = (first_phase, total)
        self.task: TaskID | None = None

    def __enter__(self) -> LiveProgress:
        self.bar.start()
        logging.getLogger("vso.progress").addHandler(self)
        self.phase(*self.first)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger("vso.progress").removeHandler(self)
        self._close_phase()
        self.bar.stop()

    def phase(self, name: str, total: int | None = None) -> None:
        self._close_phase()
        self.task = self.bar.add_task(name, total=total)

    def _close_phase(self) -> None:
        """A counted phase leaves a line at a terminal (the live bar itself goes when it is done)."""
        if self.task is None:
            return
        task = next(t for t in self.bar.tasks if t.id == self.task)
        if task.total is not None and not self.bar.disable:
            took = task.elapsed or 0.0
            self.bar.console.print(f"{task.description}: {task.completed:g}/{task.total:g} in {took:.1f} s")
        self.bar.remove_task(self.task)
        self.task = None

    def advance(self) -> None:
        self.bar.advance(self.task)

    def finished(self, outcome: Outcome) -> None:
        first_line = outcome.detail.strip().splitlines()[0] if outcome.detail.strip() else ""
        took = f" ({outcome.duration_s:.1f} s)" if outcome.duration_s else ""
        self.bar.console.print(f"{outcome.slice_id}: [{COLOURS[outcome.result]}]{outcome.result}[/] "
                               f"{escape(first_line)}{took}", soft_wrap=True)

    def emit(self, record: logging.LogRecord) -> None:
        if self.task is not None and hasattr(record, "vso_done"):
            self.bar.update(self.task, description=record.getMessage(), completed=record.vso_done,
                            total=record.vso_total)
