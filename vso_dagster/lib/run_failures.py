"""Why a run failed, in words a person can act on: what `vso` prints and what an alert says."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg


def failure_reason(run_id: str, events: Sequence[dg.DagsterEvent]) -> tuple[str, bool]:
    """Why a run failed: the first failed step's message (for a failed blocking check,
    that check's description), and whether it is a reported failure (a dg.Failure, e.g. a spec
    mistake, or a red check) rather than a crash."""
    failed_checks = [e.event_specific_data.description for e in events
                     if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
                     and e.event_specific_data.description]
    for event in (e for e in events if e.is_step_failure):
        data = event.step_failure_data
        if failed_checks and data.error and data.error.cls_name == "DagsterAssetCheckFailedError":
            return failed_checks[0].strip(), True
        if data.user_failure_data and data.user_failure_data.description:
            return data.user_failure_data.description.strip(), True
        return (data.error.message if data.error else "").strip(), False
    return _run_failure(run_id, events), False


def _run_failure(run_id: str, events: Sequence[dg.DagsterEvent]) -> str:
    """A run that failed with no step failing: its worker could not start or load the code (a
    container without the project, a broken install). Dagster's own words, and where the rest is."""
    said = [e.message or "" for e in events if e.is_run_failure or (
        e.is_engine_event and e.engine_event_data and e.engine_event_data.error)]
    errors = [e.engine_event_data.error.message for e in events
              if e.is_engine_event and e.engine_event_data and e.engine_event_data.error]
    detail = "; ".join(dict.fromkeys(m.strip() for m in [*said, *errors] if m and m.strip()))
    return (f"Dagster run {run_id} failed before any step ran"
            f"{': ' + detail if detail else ''}. Its whole log is in the Dagster UI (`vso ui`, Runs)")
