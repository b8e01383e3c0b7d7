"""`vso orchestrate` and `vso test`: one Dagster run per slice, dependencies first."""

from __future__ import annotations

import time
from collections.abc import Callable

import dagster as dg

from ..core.base.budget import NO_BUDGET, Budget, Spent
from ..core.base.config import load_config
from ..core.base.plan import Plan, load_plan
from ..core.base.project import Project
from ..core.base.state import BUILT, load_state, spent_by_teams
from ..core.implementation.implement import blockers, most_waited_on_first, priorities
from ..implementation import BUDGET_TAG, IMPLEMENT_JOB, UNIT_TESTS_JOB
from ..lib.partitions import ensure_slice_partitions
from .checks import QUIET, run_check_job
from .jobs import naming
from .results import SILENT, Outcome, Progress, Result, failure_metadata, failure_reason
from .runs import FinishedRun, RunStarter
from .waves import Decide, Decision, run_in_waves


def orchestrate(project: Project, instance: dg.DagsterInstance, slice_ids: list[str] | None, *,
                force: bool = False, verbose: bool = False, concurrency: int = 1,
                progress: Progress = SILENT) -> list[Outcome]:
    """Implements the given slices (all, when None) in dependency waves: a slice starts once every
    dependency is built, with at most `concurrency` runs at once (each in its own process when more
    than one). A slice whose dependency failed is reported as blocked without starting a run. Once the
    teams of this call have spent its budget ([agent] run_max_*), no further slice starts."""
    plan = load_plan(project)
    run_budget, spent_before = load_config(project).run_budget, spent_by_teams(load_state(project))
    order, rank = plan.slice_ids, priorities(plan)
    ensure_slice_partitions(instance, naming.slices, order)
    pending, outcomes = _to_build(project, plan, rank, slice_ids, force)
    progress.phase(f"implementing ({min(concurrency, len(pending))} at once)", len(pending))

    def look() -> Decide:
        state = load_state(project)
        budget = run_budget.after(spent_by_teams(state) - spent_before) if run_budget.caps else run_budget

        def decide(sid: str, unfinished: Callable[[str], bool]) -> Decision:
            waiting = blockers(state, plan.slice(sid))
            if any(unfinished(dep) for dep in waiting):
                return None  # its dependency is still to be built in this wave
            if waiting and slice_ids is None:
                return Outcome(sid, Result.BLOCKED, "blocked by: " + ", ".join(waiting))
            if reason := budget.over(Spent()):
                return Outcome(sid, Result.FAILED, f"not started: this run's agent budget is spent ({reason})")
            return (verbose, rank[sid], budget)  # an explicit request runs: the asset fails fast with `blocked by`
        return decide

    run_in_waves(RunStarter.for_project(project, instance), implement_one, pending, look, outcomes, progress,
                 concurrency=concurrency)
    return [outcomes[sid] for sid in order if sid in outcomes]


def _to_build(project: Project, plan: Plan, rank: dict[str, int], slice_ids: list[str] | None,
              force: bool) -> tuple[list[str], dict[str, Outcome]]:
    """The slices to build, most-waited-on first (what unblocks most), then in plan order; and, for
    the whole plan without --force, the ones already built, as unchanged."""
    wanted = plan.slice_ids if slice_ids is None else [plan.slice(sid).slice_id for sid in slice_ids]
    pending = most_waited_on_first(plan, wanted, rank)
    if slice_ids is not None or force:
        return pending, {}
    slices = load_state(project)["slices"]
    built = {sid: Outcome(sid, Result.UNCHANGED, f"already {slices[sid]['status']}")
             for sid in pending if slices[sid].get("status") in BUILT}
    return [sid for sid in pending if sid not in built], built


def implement_one(runs: RunStarter, slice_id: str, verbose: bool, priority: int = 0,
                  budget: Budget = NO_BUDGET) -> Outcome:
    started = time.monotonic()
    budget_tag = {BUDGET_TAG: budget.to_tag()} if budget.caps else {}
    result = runs.run(IMPLEMENT_JOB, partition_key=slice_id, run_config={} if verbose else QUIET,
                      tags={"dagster/priority": str(priority), **budget_tag})
    outcome = _outcome(slice_id, result)
    return Outcome(outcome.slice_id, outcome.result, outcome.detail, outcome.run_id, time.monotonic() - started)


def run_unit_tests(project: Project, instance: dg.DagsterInstance, slice_id: str, *,
                   verbose: bool = False) -> Outcome:
    load_plan(project).slice(slice_id)
    check, run_id = run_check_job(RunStarter.for_project(project, instance), UNIT_TESTS_JOB, slice_id, verbose=verbose)
    return Outcome(slice_id, Result.PASSED if check.passed else Result.FAILED, check.description or "", run_id)


def _outcome(slice_id: str, result: FinishedRun) -> Outcome:
    if result.success:
        meta = result.materializations()["slice_implementation"]
        return Outcome(slice_id, Result.IMPLEMENTED, f"{meta['unit_tests'].value} on {meta['branch'].value}",
                       result.run_id)
    blocked = "blocked_by" in failure_metadata(result)
    return Outcome(slice_id, Result.BLOCKED if blocked else Result.FAILED, failure_reason(result)[0], result.run_id)
