"""`vso orchestrate` and `vso test`: one in-process Dagster run per slice, dependencies first."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from ..core.decompose import load_plan
from ..core.errors import VSOError
from ..core.implement import BUILT, blockers, planned_slice
from ..core.project import Project
from ..core.state import load_state
from ..decomposition.run import QUIET
from ..lib.partitions import ensure_slice_partitions


@dataclass(frozen=True)
class Outcome:
    slice_id: str
    result: str  # implemented | failed | blocked | unchanged | passed
    detail: str
    run_id: str | None = None


def orchestrate(project: Project, instance: dg.DagsterInstance, slice_ids: list[str] | None, *,
                force: bool = False, verbose: bool = False) -> list[Outcome]:
    """Implements the given slices (all, when None) in plan order; a slice whose dependency did not
    get built is reported as blocked without starting a run."""
    from ..definitions import defs

    plan = load_plan(project)
    order = [s["slice_id"] for s in plan["slices"]]
    wanted = order if slice_ids is None else [planned_slice(plan, sid)["slice_id"] for sid in slice_ids]
    ensure_slice_partitions(instance, order)
    job = defs.resolve_job_def("vso_implement")
    outcomes = []
    for slice_id in sorted(wanted, key=order.index):
        state = load_state(project)
        if not force and state["slices"][slice_id].get("status") in BUILT and slice_ids is None:
            outcomes.append(Outcome(slice_id, "unchanged", f"already {state['slices'][slice_id]['status']}"))
            continue
        waiting = blockers(state, planned_slice(plan, slice_id))
        if waiting and slice_ids is None:
            outcomes.append(Outcome(slice_id, "blocked", "blocked by: " + ", ".join(waiting)))
            continue
        result = job.execute_in_process(instance=instance, partition_key=slice_id, raise_on_error=False,
                                        run_config={} if verbose else QUIET)
        outcomes.append(_outcome(slice_id, result))
    return outcomes


def run_unit_tests(project: Project, instance: dg.DagsterInstance, slice_id: str, *,
                   verbose: bool = False) -> Outcome:
    from ..definitions import defs

    planned_slice(load_plan(project), slice_id)
    ensure_slice_partitions(instance, [slice_id])
    # The partition goes in as a tag: execute_in_process(partition_key=...) refuses a job that selects
    # only asset checks ("no PartitionsDefinition shared by all the provided assets", dagster 1.13.27).
    result = defs.resolve_job_def("vso_unit_tests").execute_in_process(
        instance=instance, tags={"dagster/partition": slice_id}, raise_on_error=False,
        run_config={} if verbose else QUIET)
    evaluations = result.get_asset_check_evaluations()
    if not evaluations:
        raise VSOError(f"{slice_id}: the unit_tests check did not run (Dagster run {result.run_id})")
    check = evaluations[0]
    return Outcome(slice_id, "passed" if check.passed else "failed", check.description or "", result.run_id)


def _outcome(slice_id: str, result: dg.ExecuteInProcessResult) -> Outcome:
    if result.success:
        [mat] = result.asset_materializations_for_node("slice_implementation")
        meta = mat.metadata
        return Outcome(slice_id, "implemented", f"{meta['unit_tests'].value} on {meta['branch'].value}",
                       result.run_id)
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            why = data.user_failure_data.description if data.user_failure_data else data.error.message
            kind = "blocked" if "blocked by:" in (why or "") else "failed"
            return Outcome(slice_id, kind, (why or "").strip(), result.run_id)
    return Outcome(slice_id, "failed", f"run {result.run_id} failed", result.run_id)
