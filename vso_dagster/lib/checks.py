from __future__ import annotations

import dagster as dg

from ..core.errors import VSOError
from .in_process import run_here
from .partitions import ensure_slice_partitions

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_check_job(instance: dg.DagsterInstance, job_name: str, slice_id: str, *, verbose: bool = False):
    """Runs a check-only job for one slice in process; returns its evaluation and the run ID.

    The partition goes in as a tag: execute_in_process(partition_key=...) refuses a job that selects
    only asset checks ("no PartitionsDefinition shared by all the provided assets", dagster 1.13.27)."""
    from ..definitions import defs

    ensure_slice_partitions(instance, [slice_id])
    result = run_here(defs.resolve_job_def(job_name), instance, tags={"dagster/partition": slice_id},
                      run_config={} if verbose else QUIET)
    evaluations = result.get_asset_check_evaluations()
    if not evaluations:
        raise VSOError(f"{slice_id}: the check of {job_name} did not run (Dagster run {result.run_id})")
    return evaluations[0], result.run_id
