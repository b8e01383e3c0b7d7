from __future__ import annotations

import dagster as dg

from ..core.base.errors import VSOError
from ..lib.in_process import run_here
from ..lib.partitions import ensure_slice_partitions
from .jobs import resolved

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_check_job(instance: dg.DagsterInstance, job: dg.UnresolvedAssetJobDefinition, slice_id: str, *,
                  verbose: bool = False):
    """Runs a check-only job for one slice in process; returns its evaluation and the run ID.

    The partition goes in as a tag: execute_in_process(partition_key=...) refuses a job that selects
    only asset checks ("no PartitionsDefinition shared by all the provided assets", dagster 1.13.27)."""
    ensure_slice_partitions(instance, [slice_id])
    result = run_here(resolved(job), instance, tags={"dagster/partition": slice_id},
                      run_config={} if verbose else QUIET)
    evaluations = result.get_asset_check_evaluations()
    if not evaluations:
        raise VSOError(f"{slice_id}: the check of {job.name} did not run (Dagster run {result.run_id})")
    return evaluations[0], result.run_id
