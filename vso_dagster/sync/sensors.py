from __future__ import annotations

import os
from typing import TYPE_CHECKING

import dagster as dg

from ..core.base.config import load_config
from ..core.base.errors import VSOError
from ..core.base.plan import load_plan
from ..core.base.project import Project
from ..core.base.state import load_state, record_change_check
from ..core.decomposition.decompose import preview
from ..core.implementation.implement import priorities
from ..core.sync.changes import changes_since, first_cursor
from ..lib.naming import Naming
from ..lib.partitions import partition_batches
from .jobs import MASTER_SYNC_JOB, SLICE_DOWNSTREAM_JOB, SLICE_SYNC_JOB

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


# Why: a commit on the watched branch is how a person (or an agent) says "this changed". The sensor
# turns each new commit range into exactly the work it makes stale: a master spec change re-plans and
# requests the slices whose generated content differs; an edited slice re-runs its own downstream.
# Guards: the cursor is the last processed commit, so a tick costs what the new commits changed; run
# keys are `<sha>:<slice>`, so a replayed tick or a reset cursor launches nothing twice; the first tick
# starts from the commit the slices were generated from (a baseline before any decomposition), so
# commits made while the sensor was off are not skipped; VSO's own writes (files whose content is
# what VSO generated) are not edits.
# Off by default: the runs it starts run agent teams, which can cost money.
# `jobs`: this room's jobs by plain name, and the decomposition's plan job, handed in by the assembly
# (the stage rooms do not import one another).
def git_changes_sensor(names: Naming, jobs: dict[str, UnresolvedAssetJobDefinition],
                       plan_job: UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    interval = int(os.environ.get("VSO_SENSOR_INTERVAL_SECONDS", "30"))
    targets = {"plan": plan_job.name, **{name: job.name for name, job in jobs.items()}}

    @dg.sensor(name=names.name("git_changes"), jobs=[plan_job, *jobs.values()], minimum_interval_seconds=interval,
               default_status=dg.DefaultSensorStatus.STOPPED, required_resource_keys={names.resource},
               description=f"Every {interval} s: the commits on the watched branch since the last tick "
                           "become exactly the runs they make stale (a master change re-plans and regenerates its "
                           "slices; an edited slice re-runs its own downstream; what slices added goes back to the "
                           "master). COSTS MONEY: a regenerated or edited slice is re-implemented by its agent team. "
                           "Off until you turn it on.")
    def git_changes(context: dg.SensorEvaluationContext):
        return _changes_to_runs(context, names.project_resource(context).project(), names, targets)

    return git_changes


def _changes_to_runs(context: dg.SensorEvaluationContext, project: Project, names: Naming, jobs: dict[str, str]):
    try:
        branch = load_config(project).sync_branch
        state = load_state(project)
        cursor = context.cursor or first_cursor(state)
        changes = changes_since(project, cursor, branch, state["slices"])
    except VSOError as error:
        return dg.SkipReason(str(error))
    if changes.since is None:
        record_change_check(project)
        note = "history rewritten beyond any common commit; " if changes.rewritten else ""
        return dg.SensorResult(skip_reason=f"{note}baseline set at {branch}@{changes.head[:12]}; commits after "
                                           "it are watched", cursor=changes.head)
    if changes.since == changes.head:
        return dg.SkipReason(f"no new commit on {branch}")
    record_change_check(project)
    if changes.rewritten:
        context.log.warning(f"{branch} was rewritten: {cursor[:12]} is no longer on it; diffing from "
                            f"the merge base {changes.since[:12]}")
    sha, requests, new, rank = changes.head, [], [], _ranks(project)
    if changes.master_changed:
        try:
            seen = preview(project)
        except VSOError as error:  # the cursor stays: the commit that fixes the spec is diffed with this one
            return dg.SkipReason(f"{sha[:12]}: the master spec has problems; fix them and commit:\n{error}")
        new = seen.new
        if not seen.plan_current:
            requests.append(dg.RunRequest(job_name=jobs["plan"], run_key=f"{sha}:plan"))
        requests += [dg.RunRequest(job_name=jobs[SLICE_SYNC_JOB], partition_key=sid, run_key=f"{sha}:{sid}",
                                   tags={"dagster/priority": str(rank.get(sid, 0))}) for sid in seen.stale]
    regenerating = {r.partition_key for r in requests}
    requests += [dg.RunRequest(job_name=jobs[SLICE_DOWNSTREAM_JOB], partition_key=sid, run_key=f"{sha}:{sid}",
                               tags={"dagster/priority": str(rank.get(sid, 0))})
                 for sid in changes.edited_slices if sid not in regenerating]
    if changes.edited_slices:  # what a slice added to its spec goes back into the master
        requests.append(dg.RunRequest(job_name=jobs[MASTER_SYNC_JOB], run_key=f"{sha}:master_sync"))
    return dg.SensorResult(
        run_requests=requests, cursor=sha,
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(names.slices.name, batch)
                                     for batch in partition_batches(new)],
        skip_reason=None if requests else f"{len(changes.paths)} changed paths up to {sha[:12]}; nothing to re-run",
    )


def _ranks(project: Project) -> dict[str, int]:
    """dagster/priority per slice: how many slices wait on it (none before the first plan)."""
    try:
        return priorities(load_plan(project))
    except VSOError:
        return {}
