from __future__ import annotations

from ..core.base.errors import VSOError
from ..lib.partitions import ensure_slice_partitions
from .jobs import naming
from .runs import RunStarter

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_check_job(runs: RunStarter, job: str, slice_id: str, *,
                  verbose: bool = False):
    """Runs a check-only job for one slice; returns its evaluation and the run ID."""
    ensure_slice_partitions(runs.instance, naming.slices, [slice_id])
    result = runs.run(job, partition_key=slice_id, run_config={} if verbose else QUIET)
    evaluations = result.get_asset_check_evaluations()
    if not evaluations:
        raise VSOError(f"{slice_id}: the check of {job} did not run (Dagster run {result.run_id})")
    return evaluations[0], result.run_id
