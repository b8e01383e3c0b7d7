"""Keeping master and slices in sync: the git change sensor, the nightly schedule, their jobs."""

import warnings

# vso_slice_sync spans slice_spec (single-run backfills) and its downstream (one run per partition);
# it only ever runs one partition, so Dagster's note that it picks the stricter policy is moot.
warnings.filterwarnings("ignore", message=r"Asset job vso_slice_sync materializes assets with varying BackfillPolic")

from .assets import master_sync  # noqa: E402
from .jobs import master_sync_job, slice_downstream_job, slice_sync_job  # noqa: E402
from .schedules import nightly  # noqa: E402
from .sensors import git_changes_sensor  # noqa: E402

assets = [master_sync]
jobs = [slice_sync_job, slice_downstream_job, master_sync_job]
schedules = [nightly]
# The git sensor is built by definitions.py, which hands it the plan job it requests.
__all__ = ["assets", "jobs", "schedules", "git_changes_sensor"]
