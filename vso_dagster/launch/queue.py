"""`vso queue`: the project's runs in Dagster's run storage, by slice. What is waiting and what
works now, then what ended last: a view of the run queue, with no table of VSO's own beside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from ..lib.in_process import abandoned
from .jobs import naming
from .runs import STARTED_BY_VSO

WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
WORKING = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
# Runs read from storage to find the project's own among them (another project may share it).
LOOKED_AT = 1000


@dataclass(frozen=True)
class QueuedRun:
    slices: str  # the slice, a range of slices ("slice-001-auth…slice-050-x"), or "-" for the project
    job: str
    status: str  # Dagster's, or "ABANDONED": its `vso` process is gone and it will never end
    created: str
    seconds: float | None  # how long it ran, or has run so far; None before it started
    started_by: str  # a sensor, the schedule, a backfill, a `vso` command, or the UI
    priority: int
    run_id: str


def runs_of_project(instance: dg.DagsterInstance, recent: int) -> list[QueuedRun]:
    """Waiting runs (highest priority first), then working runs, then the `recent` that ended last."""
    def mine(statuses: list[dg.DagsterRunStatus] | None, limit: int) -> list[dg.RunRecord]:
        records = instance.get_run_records(dg.RunsFilter(statuses=statuses) if statuses else None, limit=limit)
        return [r for r in records if naming.owns_run(r.dagster_run)]

    waiting = sorted(mine(WAITING, LOOKED_AT), key=lambda r: -_priority(r.dagster_run))
    working = mine(WORKING, LOOKED_AT)
    ended = [r for r in mine(None, LOOKED_AT) if r.dagster_run.is_finished][:recent]
    return [_row(r) for r in (*waiting, *working, *ended)]


def _priority(run: dg.DagsterRun) -> int:
    try:
        return int(run.tags.get("dagster/priority", "0"))
    except ValueError:
        return 0


def _row(record: dg.RunRecord) -> QueuedRun:
    run = record.dagster_run
    status = "ABANDONED" if not run.is_finished and abandoned(run) else run.status.value
    return QueuedRun(_slices(run), run.job_name, status, _local(record.create_timestamp), _seconds(record),
                     _started_by(run), _priority(run), run.run_id)


def _slices(run: dg.DagsterRun) -> str:
    tags = run.tags
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if start and end:
        return start if start == end else f"{start}…{end}"
    return "-"


def _started_by(run: dg.DagsterRun) -> str:
    tags = run.tags
    if "dagster/sensor_name" in tags:
        return f"sensor {tags['dagster/sensor_name']}"
    if "dagster/schedule_name" in tags:
        return f"schedule {tags['dagster/schedule_name']}"
    if "dagster/backfill" in tags:
        return f"backfill {tags['dagster/backfill']}"
    return "vso" if STARTED_BY_VSO.items() <= tags.items() else "the UI or dagster"


def _seconds(record: dg.RunRecord) -> float | None:
    if record.start_time is None:
        return None
    end = record.end_time or datetime.now(UTC).timestamp()
    return round(end - record.start_time, 1)


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
