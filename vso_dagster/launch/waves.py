"""Slices in dependency waves: a slice starts once the slices it waits on are finished, with at most
N runs at once. `vso orchestrate` and `vso deploy` share it; each says, per slice, whether it waits,
is settled without a run (blocked, over budget), or starts.

Above one at a time, one slice runs in a thread of this process, which has Dagster loaded already,
and the others in worker processes, which start loading it at once (about 2 s each) while the first
wave, often a single slice, runs here. Each run is one Dagster run of the slice's partition, so the
instance sees them as it sees runs from the UI.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any

import dagster as dg

from ..core.base.project import Project
from .results import Outcome, Progress, Result
from .runs import RunStarter

# What to do with a slice now: None (it waits on a slice still pending or running), an Outcome (it
# is settled without a run), or the arguments its run takes after the slice ID.
Decision = None | Outcome | tuple
# Given a slice and whether another slice is still unfinished in this call: its Decision.
Decide = Callable[[str, Callable[[str], bool]], Decision]
# Runs one slice: the RunStarter, the slice ID, then its Decision's arguments. It must be a function
# at module level, so that a worker process can be handed it.
RunOne = Callable[..., Outcome]


def run_in_waves(runs: RunStarter, run_one: RunOne, pending: list[str], look: Callable[[], Decide],
                 outcomes: dict[str, Outcome], progress: Progress, *, concurrency: int = 1) -> None:
    """Runs `pending` in that order of preference. `look` is called once per wave (what it reads, the
    state, say, is read once for every slice it decides). Each slice's outcome goes into `outcomes`
    and to `progress` the moment it is known. A slice that can never start, because what it waits on
    is neither running nor able to start, is reported as blocked."""
    def done(outcome: Outcome) -> None:
        outcomes[outcome.slice_id] = outcome
        progress.finished(outcome)
        progress.advance()

    width = min(concurrency, len(pending))  # no worker process warms up for a slice it will never get
    pending = dict.fromkeys(pending)  # ordered, and a slice is found in it at once
    with (_InProcess(runs, run_one) if width <= 1 else _ProcessPool(width, runs, run_one)) as pool:
        def unfinished(other: str) -> bool:
            return other in pending or pool.has(other)

        while pending or pool.busy:
            decide, moved = look(), False
            for sid in list(pending):
                if pool.full:
                    break
                decision = decide(sid, unfinished)
                if decision is None:
                    continue
                del pending[sid]
                moved = True
                if isinstance(decision, Outcome):
                    done(decision)
                    continue
                pool.start(sid, decision)
                if pool.synchronous:
                    break  # that slice is finished: look again before the next one
            for outcome in pool.wait():
                done(outcome)
                moved = True
            if not moved and not pool.busy:
                for sid in pending:  # the plan is a DAG: only a dependency that went missing gets here
                    done(Outcome(sid, Result.BLOCKED, "its dependencies were not built"))
                pending.clear()


def _in_worker(run_one: RunOne, slice_id: str, args: tuple) -> Outcome:
    """In a worker process: DAGSTER_HOME and VSO_PROJECT_ROOT come from the parent's environment."""
    with dg.DagsterInstance.get() as instance:
        return run_one(RunStarter.for_project(Project.at(os.environ["VSO_PROJECT_ROOT"]), instance), slice_id, *args)


def _warm_up() -> None:
    from .. import definitions  # noqa: F401 - loading Dagster and VSO's definitions is the point


class _InProcess:
    """One slice at a time, in this process (and on whatever instance it was given)."""

    busy = full = False
    synchronous = True

    def __init__(self, runs: RunStarter, run_one: RunOne):
        self.runs, self.run_one, self.done = runs, run_one, []

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def has(self, slice_id: str) -> bool:
        return False

    def start(self, slice_id: str, args: tuple) -> None:
        self.done.append(self.run_one(self.runs, slice_id, *args))

    def wait(self) -> list[Outcome]:
        done, self.done = self.done, []
        return done


class _ProcessPool:
    """Up to `size` slices at once: one here, in a thread, the others in worker processes."""

    synchronous = False

    def __init__(self, size: int, runs: RunStarter, run_one: RunOne):
        self.size, self.runs, self.run_one = size, runs, run_one
        self.running: dict[Future, str] = {}
        self.here: Future | None = None

    def __enter__(self) -> _ProcessPool:
        self.local = ThreadPoolExecutor(max_workers=1)
        self.pool = ProcessPoolExecutor(max_workers=self.size - 1, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(self.size - 1):
            self.pool.submit(_warm_up)
        return self

    def __exit__(self, *exc: Any) -> None:
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

    def start(self, slice_id: str, args: tuple) -> None:
        if self.here is None or self.here.done():
            future = self.here = self.local.submit(self.run_one, self.runs, slice_id, *args)
        else:
            future = self.pool.submit(_in_worker, self.run_one, slice_id, args)
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
