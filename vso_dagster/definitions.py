"""Assembles VSO's Dagster definitions; each concern lives in its own folder."""

import dagster as dg

from . import decomposition, deployment, implementation, sync
from .lib.resources import VSOProject

defs = dg.Definitions(
    assets=[*decomposition.assets, *implementation.assets, *deployment.assets, *sync.assets],
    asset_checks=[*decomposition.asset_checks, *implementation.asset_checks],
    jobs=[*decomposition.jobs, *implementation.jobs, *deployment.jobs, *sync.jobs],
    sensors=[*implementation.sensors, sync.git_changes_sensor(decomposition.plan_job)],
    schedules=[*sync.schedules],
    # Steps run in the run's own process: they are small, and a process per step cost ~10 s a run.
    executor=dg.in_process_executor,
    resources={
        "vso": VSOProject(),
        # Explicit, so in-process runs (`vso decompose`) persist outputs for later CLI/UI runs too.
        "io_manager": dg.FilesystemIOManager(),
    },
)
