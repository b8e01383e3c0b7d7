from __future__ import annotations

import dagster as dg


def failure_reason(result: dg.ExecuteInProcessResult) -> tuple[str, bool]:
    """Why an in-process run failed: the first failed step's message (for a failed blocking check,
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
    return f"Dagster run {result.run_id} failed", False
