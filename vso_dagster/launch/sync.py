"""`vso nightly` and `vso sync` (what the post-commit hook runs): the work the schedule and the git
sensor would request, run now, one Dagster run per slice, dependencies first."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import dagster as dg

from ..core.base.config import load_config
from ..core.base.errors import VSOError
from ..core.base.own_commits import OwnCommit, commit_own_writes
from ..core.base.project import Project
from ..core.base.state import load_state, record_change_check, record_nightly_run
from ..core.decomposition.decompose import preview
from ..core.sync.changes import Changes, changes_since, first_cursor
from ..lib.partitions import ensure_slice_partitions
from ..lib.staleness import STAGES, StageHistory, Work, stale_work
from ..sync import MASTER_SYNC_JOB, SLICE_SYNC_JOB
from .checks import QUIET
from .decompose import decompose
from .deploy import went_home
from .jobs import naming
from .results import SILENT, Outcome, Progress, Result, failure_reason
from .runs import RunStarter


def run_work(runs: RunStarter, work: list[Work], *, verbose: bool = False,
             progress: Progress = SILENT) -> list[Outcome]:
    ensure_slice_partitions(runs.instance, naming.slices, [w.slice_id for w in work])
    outcomes = []
    progress.phase("re-running what is stale", len(work))
    for item in work:
        result = runs.run(SLICE_SYNC_JOB, partition_key=item.slice_id,
                          asset_selection=[naming.key(a) for a in item.assets], run_config={} if verbose else QUIET)
        if result.success:
            events = result.materializations()
            home = f"; {went_home(events['production_deployment'])}" if "production_deployment" in events else ""
            outcomes.append(Outcome(item.slice_id, Result.PASSED,
                                    f"{item.reason}; ran {', '.join(events) or 'nothing'}{home}", result.run_id))
        else:
            outcomes.append(Outcome(item.slice_id, Result.FAILED, failure_reason(result)[0], result.run_id))
        progress.finished(outcomes[-1])
        progress.advance()
    return outcomes


def sync_master_spec(project: Project, instance: dg.DagsterInstance, slice_ids: Collection[str] = (), *,
                     verbose: bool = False) -> OwnCommit:
    """The master_sync asset (the master's generated section and what slices added), then VSO's
    commit of what it wrote, and of what the runs before it regenerated in `slice_ids`."""
    result = RunStarter.for_project(project, instance).run(MASTER_SYNC_JOB, run_config={} if verbose else QUIET)
    if not result.success:
        raise VSOError(f"master_sync failed: {failure_reason(result)[0]}")
    return commit_own_writes(project, "VSO: master-spec.md's Vertical Slices section and what the slices added",
                             slice_ids)


def nightly(project: Project, instance: dg.DagsterInstance, *, dry_run: bool = False,
            verbose: bool = False, progress: Progress = SILENT) -> tuple[list[Work], list[Outcome]]:
    work = stale_work(preview(project), StageHistory.read(instance, naming), load_state(project)["slices"])
    if dry_run:
        return work, []
    outcomes = run_work(RunStarter.for_project(project, instance), work, verbose=verbose, progress=progress)
    progress.phase("the master's Vertical Slices section")
    sync_master_spec(project, instance, [w.slice_id for w in work], verbose=verbose)
    record_nightly_run(project)
    return work, outcomes


@dataclass(frozen=True)
class SyncReport:
    changes: Changes
    outcomes: list[Outcome]
    advanced: bool  # the cursor moved to the head; False: a run failed and the range is processed again
    first: bool = False  # no sync before: it started from the commit the slices were generated from

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result == Result.FAILED]


def sync_commits(project: Project, instance: dg.DagsterInstance, *, verbose: bool = False,
                 progress: Progress = SILENT) -> SyncReport:
    """Processes the commits since the last `vso sync` (its cursor is `sync_cursor` in state.json):
    decomposes when the master spec changed, then re-runs each changed or edited slice's downstream,
    and what an earlier sync left unfinished. The cursor moves only when every run succeeded, so a
    failure is retried by the next sync (and by the nightly run) instead of being skipped.
    One sync at a time: a second one (the next commit's hook) waits, then starts from the new cursor."""
    with project.lock("sync"):
        return _sync_commits(project, instance, verbose, progress)


def _sync_commits(project: Project, instance: dg.DagsterInstance, verbose: bool, progress: Progress) -> SyncReport:
    state = load_state(project)
    cursor = state.get("sync_cursor") or first_cursor(state)
    changes = changes_since(project, cursor, load_config(project).sync_branch, state["slices"])
    outcomes: list[Outcome] = []
    if changes.since is not None and changes.since != changes.head:
        regenerated = (decompose(project, instance, verbose=verbose, progress=progress).stale
                       if changes.master_changed else [])
        wanted = set(regenerated) | set(changes.edited_slices)
        seen, history = preview(project), StageHistory.read(instance, naming)
        work = [Work(sid, STAGES, "changed in " + changes.head[:12]) for sid in seen.slices if sid in wanted]
        work += [w for w in stale_work(seen, history, load_state(project)["slices"])
                 if w.slice_id not in wanted and w.unfinished]
        # A change re-runs what had run before; a stage nobody started yet is not started by it.
        work = [Work(w.slice_id, reached, w.reason) for w in work
                if (reached := tuple(a for a in w.assets if a in history.reached(w.slice_id)))]
        outcomes = run_work(RunStarter.for_project(project, instance), work, verbose=verbose, progress=progress)
        if changes.edited_slices:
            sync_master_spec(project, instance, verbose=verbose)
    advanced = not any(o.result == Result.FAILED for o in outcomes)
    first = not state.get("sync_cursor")
    record_change_check(project, changes.head if advanced else None)
    return SyncReport(changes, outcomes, advanced, first)
