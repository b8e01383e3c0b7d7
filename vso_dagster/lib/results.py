from __future__ import annotations

import dagster as dg


def failure_reason(result: dg.ExecuteInProcessResult) -> tuple[str, bool]:
    """Why an in-process run failed: the first failed step's message, and whether it is a reported
    failure (a dg.Failure, e.g. a spec mistake) rather than a crash."""
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data.user_failure_data and data.user_failure_data.description:
                return data.user_failure_data.description.strip(), True
            return (data.error.message if data.error else "").strip(), False
    return f"Dagster run {result.run_id} failed", False
