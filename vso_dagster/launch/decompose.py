"""`vso decompose`: materialize the plan, then only the stale slice partitions, as runs of the code
location, so the runs and their lineage show in the UI like any other run."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from ..core.base.errors import VSOError
from ..core.base.logs import log_to_file
from ..core.base.master_spec import read_project_spec
from ..core.base.own_commits import OwnCommit, commit_own_writes
from ..core.base.plan import Plan, load_plan
from ..core.base.project import Project
from ..core.decomposition.decompose import plan_is_current, stale_slice_ids
from ..core.sync.master_sync import section_is_current
from ..decomposition import PLAN_JOB, SLICE_SPEC_JOB, SPEC_SYNC_JOB
from ..lib.partitions import ensure_slice_partitions
from ..sync import MASTER_SYNC_JOB
from .checks import QUIET, run_check_job
from .jobs import naming
from .results import SILENT, Progress, failure_reason
from .runs import FinishedRun, RunStarter

# VSO reports failures itself (as file:line for spec mistakes), so Dagster's console stays silent.


@dataclass
class DecomposeReport:
    plan: Plan
    stale: list[str]
    runs: list[str]
    commit: OwnCommit | None = None  # VSO's commit of what it wrote (None: nothing changed)


def decompose(project: Project, instance: dg.DagsterInstance, *, strict: bool = False,
              verbose: bool = False, progress: Progress = SILENT) -> DecomposeReport:
    try:
        return _decompose(project, instance, strict=strict, verbose=verbose, progress=progress)
    except VSOError as error:
        with log_to_file(project, "decomposition") as log:
            log.error("decomposition refused:\n%s", error)
        raise


def _decompose(project: Project, instance: dg.DagsterInstance, *, strict: bool, verbose: bool,
               progress: Progress) -> DecomposeReport:
    runs, starter = [], RunStarter.for_project(project, instance)
    spec = read_project_spec(project)  # a spec mistake stops here, before any run is recorded
    if strict or not plan_is_current(project, spec):
        progress.phase("planning")
        run_config = {"ops": {"slice_plan": {"config": {"strict": strict}}}, **({} if verbose else QUIET)}
        result = starter.run(PLAN_JOB, run_config=run_config)
        _raise_on_failure(result)
        runs.append(result.run_id)
    plan = load_plan(project)
    stale = stale_slice_ids(project, plan)
    # An instance that never saw this plan (a fresh clone, a decompose killed before slice_plan added
    # them) has none of its partitions: without them no stale slice could be written.
    ensure_slice_partitions(instance, naming.slices, plan.slice_ids)
    order = instance.get_dynamic_partitions(naming.slices.name)
    progress.phase("writing slices", len(stale))
    for first, last in contiguous_ranges(stale, order):
        tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
        spec_result = starter.run(SLICE_SPEC_JOB, tags=tags, run_config={} if verbose else QUIET)
        _raise_on_failure(spec_result)
        runs.append(spec_result.run_id)
    # Something changed, or an earlier decompose was killed before it wrote the master's generated
    # section: bring that section up to date.
    if runs or not section_is_current(project):
        progress.phase("the master's Vertical Slices section")
        sync_result = starter.run(MASTER_SYNC_JOB, run_config={} if verbose else QUIET)
        _raise_on_failure(sync_result)
        runs.append(sync_result.run_id)
    commit = None
    if runs:
        listed = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
        commit = commit_own_writes(project, f"VSO: decomposed master-spec.md v{plan.master['version']}"
                                            + (f"; regenerated {listed}" if stale else ""), stale)
    return DecomposeReport(plan, stale, runs, commit)


def check_in_sync(project: Project, instance: dg.DagsterInstance, slice_id: str, *, verbose: bool = False):
    """The slice's spec_in_sync check, run again (after `vso resolve`): its evaluation and run ID."""
    return run_check_job(RunStarter.for_project(project, instance), SPEC_SYNC_JOB, slice_id, verbose=verbose)


def contiguous_ranges(keys: list[str], order: list[str]) -> list[tuple[str, str]]:
    """Stale keys grouped into as few partition-range runs as the partition order allows."""
    wanted = set(keys)
    ranges: list[tuple[str, str]] = []
    start = prev = None
    for key in order:
        if key in wanted:
            start = start or key
            prev = key
        elif start:
            ranges.append((start, prev))
            start = None
    if start:
        ranges.append((start, prev))
    return ranges


def _raise_on_failure(result: FinishedRun) -> None:
    if result.success:
        return
    reason, reported = failure_reason(result)
    if reported or not any(e.is_step_failure for e in result.all_events):
        raise VSOError(reason)  # a mistake, or a run that never started: said, not a traceback
    raise RuntimeError(f"Dagster run {result.run_id} failed: {reason}")
