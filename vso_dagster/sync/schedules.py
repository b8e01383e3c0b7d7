from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from ..core.base.errors import VSOError
from ..core.base.project import Project
from ..core.base.state import load_state, record_nightly_run
from ..core.decomposition.decompose import preview
from ..lib.naming import Naming
from ..lib.partitions import ensure_slice_partitions
from ..lib.staleness import StageHistory, stale_work

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


# Why: commits are not the only way work goes stale. VSO's templates change with an upgrade, a run
# fails and is never retried, a slice is added while the sensor is off. Every night at 02:00 this
# requests everything stale by the rules in docs/keeping-in-sync.md: per slice, its first stale stage
# and what follows, dependencies first (by dagster/priority), keyed by night so a re-evaluated tick
# requests nothing twice. (slice_spec plans first when the plan is not current.) Off by default, like
# the sensor: the runs it requests run agent teams.
# `timezone`: the project's [sync] timezone.
def nightly(names: Naming, timezone: str, slice_sync_job: UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    @dg.schedule(name=names.name("nightly"), cron_schedule="0 2 * * *", execution_timezone=timezone,
                 job=slice_sync_job, default_status=dg.DefaultScheduleStatus.STOPPED,
                 required_resource_keys={names.resource},
                 description="At 02:00 ([sync] timezone): every slice that is stale by VSO's rules (generated files "
                             "changed, a stage never run, failed, or older than what it is built from), from its "
                             "first stale stage on, dependencies first. COSTS MONEY: stale implementations run their "
                             "agent teams, stale deployments redeploy. Off until you turn it on.")
    def nightly_schedule(context: dg.ScheduleEvaluationContext):
        return _stale_runs(context, names.project_resource(context).project(), names)

    return nightly_schedule


def _stale_runs(context: dg.ScheduleEvaluationContext, project: Project, names: Naming):
    try:
        seen = preview(project)
        work = stale_work(seen, StageHistory.read(context.instance, names), load_state(project)["slices"])
    except VSOError as error:
        return dg.SkipReason(str(error))
    night = context.scheduled_execution_time.strftime("%Y-%m-%d")
    record_nightly_run(project)
    if not work:
        return dg.SkipReason("nothing is stale")
    ensure_slice_partitions(context.instance, names.slices, seen.new)
    return [dg.RunRequest(partition_key=w.slice_id, run_key=f"nightly:{night}:{w.slice_id}",
                          asset_selection=[names.key(a) for a in w.assets],
                          tags={"dagster/priority": str(len(work) - i), "vso/reason": w.reason[:200]})
            for i, w in enumerate(work)]
