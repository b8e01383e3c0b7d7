from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from ..core.base.errors import VSOError
from ..core.base.plan import load_plan
from ..core.base.project import Project
from ..core.base.state import load_state
from ..core.implementation.implement import priorities, ready_to_build
from ..lib.in_process import abandoned
from ..lib.naming import Naming

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED]


# Why: implements a whole plan in dependency waves through Dagster's own run queue, so the queue's
# limit on `vso/stage=implementation` runs (dagster.yaml) caps how many agent teams work at once.
# Guards: a slice is requested only when every dependency is built and no run for it is in flight;
# the run key (slice@version) means a failed slice is not retried in a loop. Off by default: agent
# runs can cost money, so a person turns it on in the UI.
def implementation_waves(names: Naming, implement_job: UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(name=names.name("implementation_waves"), job=implement_job, minimum_interval_seconds=10,
               default_status=dg.DefaultSensorStatus.STOPPED, required_resource_keys={names.resource},
               description="Every 10 s: a vso_implement run for each slice whose dependencies are built and that "
                           "has no run in flight, most-waited-on first. COSTS MONEY: each run starts the configured "
                           "agent team (a paid model unless [agent] is the scaffold agent). Off until you turn it on.")
    def waves(context: dg.SensorEvaluationContext):
        return _ready_runs(context, names.project_resource(context).project(), implement_job.name)

    return waves


def _ready_runs(context: dg.SensorEvaluationContext, project: Project, job_name: str):
    try:
        plan = load_plan(project)
    except VSOError as error:
        return dg.SkipReason(str(error))
    state = load_state(project)
    runs = context.instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT))
    # A `vso orchestrate` killed mid-run leaves its run STARTED for good: not in flight.
    in_flight = {run.tags.get("dagster/partition") for run in runs if not abandoned(run)}
    ready = ready_to_build(plan, state, in_flight)
    if not ready:
        return dg.SkipReason("no slice is ready: each is built, in flight, or waiting on a dependency")
    rank = priorities(plan)
    return [
        dg.RunRequest(partition_key=sid, run_key=f"{sid}@{state['slices'][sid]['version']}",
                      tags={"dagster/priority": str(rank[sid])})
        for sid in ready
    ]
