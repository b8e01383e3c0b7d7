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
    """Why a run failed: the first failed step's message (for a failed blocking check,
    that check's description), and whether it is a reported failure (a dg.Failure, e.g. a spec
    mistake, or a red check) rather than a crash."""
    failed_checks = [e.event_specific_data.description for e in result.all_events
                     if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
                     and e.event_specific_data.description]
    for event in (e for e in result.all_events if e.is_step_failure):
        data = event.step_failure_data
        if failed_checks and data.error and data.error.cls_name == "DagsterAssetCheckFailedError":
            return failed_checks[0].strip(), True
        if data.user_failure_data and data.user_failure_data.description:
            return data.user_failure_data.description.strip(), True
        return (data.error.message if data.error else "").strip(), False
    return _run_failure(result), False


def _run_failure(result: FinishedRun) -> str:
    """A run that failed with no step failing: its worker could not start or load the code (a
    container without the project, a broken install). Dagster's own words, and where the rest is."""
    said = [e.message or "" for e in result.all_events if e.is_run_failure or (
        e.is_engine_event and e.engine_event_data and e.engine_event_data.error)]
    errors = [e.engine_event_data.error.message for e in result.all_events
              if e.is_engine_event and e.engine_event_data and e.engine_event_data.error]
    detail = "; ".join(dict.fromkeys(m.strip() for m in [*said, *errors] if m and m.strip()))
    return (f"Dagster run {result.run_id} failed before any step ran"
            f"{': ' + detail if detail else ''}. Its whole log is in the Dagster UI (`vso ui`, Runs)")


def failure_metadata(result: FinishedRun) -> dict:
    """The metadata of the first reported failure (a dg.Failure's), by key."""
    for event in (e for e in result.all_events if e.is_step_failure):
        data = event.step_failure_data.user_failure_data
        return {key: value.value for key, value in data.metadata.items()} if data else {}
    return {}
