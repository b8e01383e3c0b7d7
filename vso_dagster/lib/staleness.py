"""Which slices need which work: the rules the nightly schedule, `vso nightly` and `vso sync` share
(docs/keeping-in-sync.md lists them for users)."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from ..core.base.state import BUILT
from ..core.decomposition.decompose import Preview
from .in_process import abandoned
from .naming import Naming

# A slice's stages in order; each is built from the one before it.
STAGES = ("slice_spec", "slice_implementation", "test_deployment", "integration_tests", "production_deployment")
PARTITION_TAG = "dagster/partition"
NEVER = "never materialized"


@dataclass(frozen=True)
class Work:
    slice_id: str
    assets: tuple[str, ...]  # the first stale stage and the stages after it
    reason: str
    # The first stale stage ran before, but what it was built from changed since, or it did not
    # finish or pass: work left over, which `vso sync` takes up too (unlike a stage never started).
    unfinished: bool = False


@dataclass(frozen=True)
class StageHistory:
    """Per stage and slice, the event-log storage ID of the latest materialization and of the latest
    attempt (a run that planned it): Dagster's own record of what ran and what finished."""

    latest: dict[str, dict[str, int]]
    attempted: dict[str, dict[str, int]]
    in_flight: frozenset[str]  # slices with a run of this project queued or running: its outcome is not known yet

    @classmethod
    def read(cls, instance: dg.DagsterInstance, names: Naming) -> StageHistory:
        storage = instance.event_log_storage
        latest, attempted = {}, {}
        for stage in STAGES:
            key = names.key(stage)
            latest[stage] = storage.get_latest_storage_id_by_partition(
                key, dg.DagsterEventType.ASSET_MATERIALIZATION)
            attempted[stage] = storage.get_latest_storage_id_by_partition(
                key, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        busy = set()
        for record in instance.get_run_records(dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)):
            run = record.dagster_run
            if abandoned(run):
                # Killed mid-run, it can never say so itself: it failed, and its work is stale again.
                instance.report_run_failed(run, "VSO process that ran it is gone (killed?); its work is redone")
            elif PARTITION_TAG in run.tags and names.owns_run(run):
                busy.add(run.tags[PARTITION_TAG])
        return cls(latest, attempted, frozenset(busy))

    def reached(self, slice_id: str) -> tuple[str, ...]:
        """The stages after slice_spec up to the furthest one that ever ran for the slice: what a
        change to the slice re-runs (a stage nobody started yet is not started by a change)."""
        ran = [at for at, stage in enumerate(STAGES)
               if slice_id in self.latest[stage] or slice_id in self.attempted[stage]]
        return STAGES[1:max(ran) + 1] if ran else ()

    def first_stale(self, slice_id: str, entry: dict) -> tuple[int, str] | None:
        """A stage is stale when it was never materialized, when the stage it is built from is newer,
        when its last run did not materialize it (failed, or skipped), or when it ran and its tests
        did not pass (unit tests for the implementation, integration tests), or when the implementation
        was built from another version of the slice than the one wanted now. `entry`: the slice in
        state.json, which records the test results and the version built."""
        for at, stage in enumerate(STAGES):
            mine, tried = self.latest[stage].get(slice_id), self.attempted[stage].get(slice_id)
            theirs = self.latest[STAGES[at - 1]].get(slice_id) if at else None
            if at and mine is None:
                return at, NEVER
            if theirs is not None and mine is not None and theirs > mine:
                return at, f"{STAGES[at - 1]} is newer"
            if tried is not None and mine is not None and tried > mine:
                return at, "its last run did not materialize it (failed or skipped)"
            if stage == "slice_implementation" and entry.get("status") not in BUILT:
                return at, "its unit tests have not passed"
            built, wanted = entry.get("built_version"), entry.get("version")
            if stage == "slice_implementation" and built and wanted and built != wanted:
                return at, f"it was built from version {built}; the slice is at {wanted}"
            if stage == "integration_tests" and entry.get("integration", {}).get("passed") is False:
                return at, "its integration tests failed"
        return None


def stale_work(seen: Preview, history: StageHistory, slices: dict[str, dict]) -> list[Work]:
    """Per slice, dependencies first, from its earliest stale stage on (`StageHistory.first_stale`).
    A slice with a run in flight is left to that run. `seen`: `core.decompose.preview(project)`,
    which the caller also needs (new partitions); `slices`: state.json's slices."""
    work = []
    for slice_id in seen.slices:
        if slice_id in history.in_flight:
            continue
        if slice_id in seen.stale:
            work.append(Work(slice_id, STAGES, "slice_spec: its generated files changed or are missing"))
            continue
        found = history.first_stale(slice_id, slices.get(slice_id, {}))
        if found is not None:
            at, reason = found
            work.append(Work(slice_id, STAGES[at:], f"{STAGES[at]}: {reason}", unfinished=reason != NEVER))
    return work
