"""Runs that execute on other machines, and what they leave in the instance.

Every slice asset's event carries the slice's part of state.json as the run left it (`vso_state`,
core/base/run_records.py), so the UI shows it and any machine can take it. With `[dagster] checkout
= "git"`, a slice run first brings its own machine's clone and state.json up to date (git, then
these records), and the `vso` command brings its machine's state.json up to date after each run it
waits for and before `vso status`.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from ..core.base.config import load_config
from ..core.base.project import Project
from ..core.base.remote_checkout import take_remote_plan, take_slice_work
from ..core.base.run_records import apply_slice_record, slice_record
from ..core.base.state import load_state, updating_state
from .naming import Naming

RECORD = "vso_state"  # the metadata entry holding the record
# The slice assets whose events carry one, and state.json's key for the last event this machine took.
RECORDED_ASSETS = ("slice_implementation", "test_deployment", "integration_tests", "production_deployment")
CURSOR = "records_cursor"
PAGE = 1000
# The (run, slice) pairs this process has brought up to date: a run's later steps work on what its
# first one took.
_PREPARED: set[tuple[str, str]] = set()


def state_record(project: Project, slice_id: str) -> dict[str, dg.MetadataValue]:
    """The metadata entry for the slice's record, as state.json holds it now."""
    return {RECORD: dg.MetadataValue.json(slice_record(load_state(project), slice_id))}


def slice_run_project(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, names: Naming) -> Project:
    """The project a slice step works in. With runs on other machines, its first step in a run brings
    this machine's clone up to date from the git remote, this machine's state.json from the records,
    and the slice's branch and worktree from the remote."""
    project = names.project_resource(context).project()
    config = load_config(project)
    slice_id = context.partition_key
    if not config.runs_in_clones or (context.run.run_id, slice_id) in _PREPARED:
        return project
    take_remote_plan(project, config)
    catch_up(project, context.instance, names)
    take_slice_work(project, config, slice_id)
    _PREPARED.add((context.run.run_id, slice_id))
    return project


def catch_up(project: Project, instance: dg.DagsterInstance, names: Naming) -> int:
    """Lays every record stored since this machine last looked over its state.json, oldest first;
    returns how many there were."""
    with updating_state(project) as state:
        after = int(state.get(CURSOR) or 0)
        records = sorted((r for name in RECORDED_ASSETS for r in _stored_after(instance, names.key(name), after)),
                         key=lambda r: r.storage_id)
        for record in records:
            event = record.asset_materialization
            if event is not None and event.partition and RECORD in event.metadata:
                apply_slice_record(state, event.partition, event.metadata[RECORD].value)
        if records:
            state[CURSOR] = records[-1].storage_id
    return len(records)


def _stored_after(instance: dg.DagsterInstance, key: dg.AssetKey, after: int) -> Iterator[dg.EventLogRecord]:
    cursor = None
    while True:
        page = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, after_storage_id=after),
                                               limit=PAGE, cursor=cursor, ascending=True)
        yield from page.records
        if not page.has_more:
            return
        cursor = page.cursor
