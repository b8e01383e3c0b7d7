"""Which slices need which work: the rules the nightly schedule and `vso nightly` share
(docs/keeping-in-sync.md lists them for users)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import dagster as dg

from ..core.decompose import Preview

# A slice's stages in order; each is built from the one before it.
STAGES = ("slice_spec", "slice_implementation", "test_deployment", "integration_tests", "production_deployment")


@dataclass(frozen=True)
class Work:
    slice_id: str
    assets: tuple[str, ...]  # the first stale stage and every stage after it
    reason: str


def stale_work(seen: Preview, instance: dg.DagsterInstance) -> list[Work]:
    """Per slice, dependencies first, from its earliest stale stage on: slice_spec when the master spec
    or VSO's slice templates change what it generates (or its files are missing); a later stage when it was
    never materialized or the stage it is built from is newer. New slices are stale from the start.
    `seen`: `core.decompose.preview(project)`, which the caller also needs (new partitions)."""
    latest = {stage: instance.event_log_storage.get_latest_storage_id_by_partition(
        dg.AssetKey(stage), dg.DagsterEventType.ASSET_MATERIALIZATION) for stage in STAGES}
    work = []
    for slice_id in seen.slices:
        if slice_id in seen.stale:
            work.append(Work(slice_id, STAGES, "slice_spec: its generated files changed or are missing"))
            continue
        for at, (upstream, stage) in enumerate(itertools.pairwise(STAGES), start=1):
            mine, theirs = latest[stage].get(slice_id), latest[upstream].get(slice_id)
            if mine is None or (theirs is not None and theirs > mine):
                reason = "never materialized" if mine is None else f"{upstream} is newer"
                work.append(Work(slice_id, STAGES[at:], f"{stage}: {reason}"))
                break
    return work
