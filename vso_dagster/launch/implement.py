"""`vso orchestrate` and `vso test`: one Dagster run per slice, dependencies first."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

import dagster as dg

from ..core.base.budget import NO_BUDGET, Budget, Spent
from ..core.base.config import load_config
from ..core.base.plan import Plan, load_plan
from ..core.base.project import Project
from ..core.base.state import BUILT, load_state, spent_by_teams
from ..core.implementation.implement import blockers, priorities
from ..implementation import BUDGET_TAG, IMPLEMENT_JOB, UNIT_TESTS_JOB
from ..lib.partitions import ensure_slice_partitions
from .checks import QUIET, run_check_job
from .jobs import naming
from .results import SILENT, Outcome, Progress, Result, failure_metadata, failure_reason
from .runs import FinishedRun, RunStarter


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
    runs = RunStarter.for_project(project, instance)
    width = min(concurrency, len(pending))  # no worker process warms up for a slice it will never get
    progress.phase(f"implementing ({width} at once)", len(pending))

    def done(outcome: Outcome) -> None:
        outcomes[outcome.slice_id] = outcome
        progress.finished(outcome)
        progress.advance()

    if width <= 1:
        run = _InProcess(runs, verbose)
    else:
        run = _ProcessPool(width, runs, verbose)
    with run:
        while pending or run.busy:
            state = load_state(project)
            budget = run_budget.after(spent_by_teams(state) - spent_before) if run_budget.caps else run_budget
            for sid in list(pending):
                if run.full:
                    break
                waiting = blockers(state, plan.slice(sid))
                if any(dep in pending or run.has(dep) for dep in waiting):
                    continue  # its dependency is still to be built in this wave
                if waiting and slice_ids is None:
                    done(Outcome(sid, Result.BLOCKED, "blocked by: " + ", ".join(waiting)))
                elif reason := budget.over(Spent()):
                    done(Outcome(sid, Result.FAILED, f"not started: this run's agent budget is spent ({reason})"))
                else:  # an explicit request runs: the asset itself fails fast with `blocked by`
                    run.start(sid, rank[sid], budget)
                pending.remove(sid)
                if run.synchronous:
                    break  # that slice is finished: look at the state again before the next one
            for outcome in run.wait():
                done(outcome)
            if not run.busy and pending and all(
                    any(dep in pending for dep in blockers(load_state(project), plan.slice(sid)))
                    for sid in pending):
                for sid in pending:  # a cycle cannot happen (the plan is a DAG); this is a lost dependency
                    done(Outcome(sid, Result.BLOCKED, "its dependencies were not built"))
                pending = []
    return [outcomes[sid] for sid in sorted(outcomes, key=order.index)]


def _to_build(project: Project, plan: Plan, rank: dict[str, int], slice_ids: list[str] | None,
              force: bool) -> tuple[list[str], dict[str, Outcome]]:
    """The slices to build, most-waited-on first (what unblocks most), then in plan order; and, for
    the whole plan without --force, the ones already built, as unchanged."""
    order = plan.slice_ids
    wanted = order if slice_ids is None else [plan.slice(sid).slice_id for sid in slice_ids]
    pending = sorted(wanted, key=lambda sid: (-rank[sid], order.index(sid)))
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


def _implement_in_worker(slice_id: str, verbose: bool, priority: int, budget: Budget) -> Outcome:
    """In a worker process: DAGSTER_HOME and VSO_PROJECT_ROOT come from the parent's environment."""
    with dg.DagsterInstance.get() as instance:
        runs = RunStarter.for_project(Project.at(os.environ["VSO_PROJECT_ROOT"]), instance)
        return implement_one(runs, slice_id, verbose, priority, budget)


def _warm_up() -> None:
    from .. import definitions  # noqa: F401 - loading Dagster and VSO's definitions is the point


class _InProcess:
    """One slice at a time, in this process (and on whatever instance it was given)."""

    def __init__(self, runs: RunStarter, verbose: bool):
        self.runs, self.verbose, self.done = runs, verbose, []
        self.busy = self.full = False
        self.synchronous = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def has(self, slice_id: str) -> bool:
        return False

    def start(self, slice_id: str, priority: int, budget: Budget) -> None:
        self.done.append(implement_one(self.runs, slice_id, self.verbose, priority, budget))

    def wait(self) -> list[Outcome]:
        done, self.done = self.done, []
        return done


class _ProcessPool:
    """Up to N slices at once: one in a thread of this process, which has Dagster loaded already,
    and the others in worker processes, which start loading it at once (about 2 s each) while the
    first wave, often a single slice, runs here."""

    def __init__(self, size: int, runs: RunStarter, verbose: bool):
        self.size, self.runs, self.verbose = size, runs, verbose
        self.running: dict[Future, str] = {}
        self.here: Future | None = None
        self.synchronous = False

    def __enter__(self):
        self.local = ThreadPoolExecutor(max_workers=1)
        self.pool = ProcessPoolExecutor(max_workers=self.size - 1, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(self.size - 1):
            self.pool.submit(_warm_up)
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.local.shutdown(wait=True, cancel_futures=True)

    @property
    def busy(self) -> bool:
        return bool(self.running)

    @property
    def full(self) -> bool:
        return len(self.running) >= self.size

    def has(self, slice_id: str) -> bool:
        return slice_id in self.running.values()

    def start(self, slice_id: str, priority: int, budget: Budget) -> None:
        if self.here is None or self.here.done():
            future = self.here = self.local.submit(implement_one, self.runs, slice_id, self.verbose, priority, budget)
        else:
            future = self.pool.submit(_implement_in_worker, slice_id, self.verbose, priority, budget)
        self.running[future] = slice_id

    def wait(self) -> list[Outcome]:
        if not self.running:
            return []
        finished, _ = futures_wait(self.running, return_when=FIRST_COMPLETED)
        outcomes = []
        for future in finished:
            slice_id = self.running.pop(future)
            try:
                outcomes.append(future.result())
            except Exception as exc:  # noqa: BLE001 - a crashed worker is that slice's failure
                outcomes.append(Outcome(slice_id, Result.FAILED, f"worker crashed: {exc}"))
        return outcomes


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
