"""What a run came to: the typed outcome the CLI shows, and why a run failed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports Result for every command: Dagster's import is most of its time
    from .runs import FinishedRun


class Result(StrEnum):
    IMPLEMENTED = "implemented"
    PASSED = "passed"
    DEPLOYED = "deployed"
    UNCHANGED = "unchanged"  # already built: nothing to do
    BLOCKED = "blocked"  # waits on slices not built yet
    SKIPPED = "skipped"  # production, before integration tests passed against what serves test
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    slice_id: str
    result: Result
    detail: str
    run_id: str | None = None
    duration_s: float = 0.0


class Progress:
    """What a long command says while it works: its phase, how far it got, and each slice as it
    finishes. This one says nothing; the CLI draws it (cli/progress.py)."""

    def phase(self, name: str, total: int | None = None) -> None:
        """A new phase, of `total` steps (None: not counted)."""

    def advance(self) -> None:
        """One more step of the phase done."""

    def finished(self, outcome: Outcome) -> None:
        """A slice's result, the moment it is known."""


SILENT = Progress()


def failure_reason(result: FinishedRun) -> tuple[str, bool]:
    """Why the run failed, and whether it is a reported failure rather than a crash (lib/run_failures.py)."""
    from ..lib.run_failures import failure_reason as reason_in

    return reason_in(result.run_id, result.all_events)


def failure_metadata(result: FinishedRun) -> dict:
    """The metadata of the first reported failure (a dg.Failure's), by key."""
    for event in (e for e in result.all_events if e.is_step_failure):
        data = event.step_failure_data.user_failure_data
        return {key: value.value for key, value in data.metadata.items()} if data else {}
    return {}
