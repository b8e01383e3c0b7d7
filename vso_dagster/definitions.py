"""Assembles VSO's Dagster definitions; each concern lives in its own folder."""

import dagster as dg

from . import decomposition, deployment, implementation, sync
from .lib.presentation import loading_config, source_link, with_code_references, with_project_owners
from .lib.resources import VSOProject

assets = [*decomposition.assets, *implementation.assets, *deployment.assets, *sync.assets]
defs = dg.Definitions(
    assets=with_code_references(assets, source_link()),
    asset_checks=[*decomposition.asset_checks, *implementation.asset_checks],
    jobs=[*decomposition.jobs, *implementation.jobs, *deployment.jobs, *sync.jobs],
    sensors=[*implementation.sensors, sync.git_changes_sensor(decomposition.plan_job)],
    schedules=[*sync.schedules],
    # Steps run in the run's own process: they are small, and a process per step cost ~10 s a run.
    executor=dg.in_process_executor,
    # No IO manager: no asset passes a value to another; each reads the project (a run on another
    # machine needs no file of this one).
    resources={"vso": VSOProject()},
)
defs = with_project_owners(defs, loading_config())
