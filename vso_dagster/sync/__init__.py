"""Keeping master and slices in sync: the git change sensor, the nightly schedule, their jobs."""

import warnings

# vso_slice_sync spans slice_spec (single-run backfills) and its downstream (one run per partition);
# it only ever runs one partition, so Dagster's note that it picks the stricter policy is moot.
warnings.filterwarnings("ignore", message=r"Asset job \w*vso_slice_sync materializes assets with varying BackfillPol")

from ..lib.naming import Naming  # noqa: E402
from ..lib.room import Room  # noqa: E402
from . import assets, jobs  # noqa: E402
from .jobs import MASTER_SYNC_JOB, SLICE_DOWNSTREAM_JOB, SLICE_SYNC_JOB  # noqa: E402
from .schedules import nightly  # noqa: E402
from .sensors import git_changes_sensor  # noqa: E402


def room(names: Naming, timezone: str, plan_job) -> Room:
    """`timezone`: the project's [sync] timezone, for the nightly schedule; `plan_job`: the
    decomposition's, which the git sensor requests (the stage rooms do not import one another)."""
    built_jobs = jobs.build(names)
    return Room(assets=assets.build(names), jobs=built_jobs,
                sensors=[git_changes_sensor(names, built_jobs, plan_job)],
                schedules=[nightly(names, timezone, built_jobs[SLICE_SYNC_JOB])])


__all__ = ["room", "MASTER_SYNC_JOB", "SLICE_DOWNSTREAM_JOB", "SLICE_SYNC_JOB"]
