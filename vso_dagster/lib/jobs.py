from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


def asset_job(name: str, **kwargs) -> UnresolvedAssetJobDefinition:
    """A VSO job: its steps run in the run's own process, because they are small and a process per
    step cost ~10 s a run. Set on each job rather than on the definitions, so a Dagster project that
    adds VSO as a Component keeps its own executor for everything else."""
    return dg.define_asset_job(name, executor_def=dg.in_process_executor, **kwargs)
