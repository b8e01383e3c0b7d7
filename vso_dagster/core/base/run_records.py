"""What a run tells the machines that did not execute it.

state.json is one machine's record. When runs execute on other machines (`[dagster] checkout =
"git"`), each slice run leaves, in its Dagster event, the slice's part of state.json that runs own
(`slice_record`): its status, tested commit and spend, where it serves, a branch that could not go
home. Every machine lays those records over its own state.json in the order they were stored
(`apply_slice_record`), and takes what decomposition owns (versions, files, dependencies) from the
committed files git brought (`take_committed`). So no machine writes another's files, and each
one's state.json can be rebuilt from git and the instance alone.
"""

from __future__ import annotations

import copy

from .state import SliceStatus, conflicts_of

# The keys of a slice's entry that its runs write (mark_implemented, record_team_spend,
# record_integration, mark_deployed); the others are the decomposition's.
RUN_OWNED = ("status", "tested_commit", "built_version", "tested_environment", "agent_spend", "integration")


def slice_record(state: dict, slice_id: str) -> dict:
    entry = state["slices"][slice_id]
    return {
        "slice": {key: entry[key] for key in RUN_OWNED if key in entry},
        "endpoints": {env: record.get("endpoints", {}).get(slice_id) for env, record in state["deployments"].items()},
        "branch_conflicts": conflicts_of(state, {slice_id}, "branch"),
    }


def apply_slice_record(state: dict, slice_id: str, record: dict) -> bool:
    """Lays a run's record of the slice over this machine's state; returns whether anything changed.
    A slice this machine does not know yet (a decomposition git has not brought) or has retired
    keeps what it has: the decomposition decides those."""
    entry = state["slices"].get(slice_id)
    if entry is None or entry.get("status") == SliceStatus.RETIRED:
        return False
    before = copy.deepcopy((entry, state["deployments"], state["conflicts"]))
    owned = record.get("slice", {})
    for key in RUN_OWNED:
        if key in owned:
            entry[key] = owned[key]
        else:
            entry.pop(key, None)
    entry.setdefault("status", SliceStatus.DRAFT)
    for env, endpoint in record.get("endpoints", {}).items():
        deployed = state["deployments"].setdefault(env, {"slices_deployed": []})
        if endpoint is None:
            deployed.get("endpoints", {}).pop(slice_id, None)
            if slice_id in deployed["slices_deployed"]:
                deployed["slices_deployed"].remove(slice_id)
        else:
            deployed.setdefault("endpoints", {})[slice_id] = endpoint
            if slice_id not in deployed["slices_deployed"]:
                deployed["slices_deployed"].append(slice_id)
    mine = conflicts_of(state, {slice_id}, "branch")
    state["conflicts"] = [c for c in state["conflicts"] if c not in mine] + list(record.get("branch_conflicts", []))
    return (entry, state["deployments"], state["conflicts"]) != before


def take_committed(state: dict, committed: dict) -> None:
    """This machine's state after git brought a newer plan: `committed` is the state the committed
    files give (state.rebuilt_state). New slices come as drafts, retired ones are retired, and every
    slice takes the decomposition's keys from it; what runs recorded stays."""
    for slice_id, fresh in committed["slices"].items():
        entry = state["slices"].get(slice_id)
        if entry is None:
            state["slices"][slice_id] = fresh
            continue
        entry.update({key: value for key, value in fresh.items() if key not in (*RUN_OWNED, "last_modified")})
        if fresh["status"] == SliceStatus.RETIRED:
            entry["status"] = SliceStatus.RETIRED
        elif entry.get("status") == SliceStatus.RETIRED:
            entry["status"] = SliceStatus.DRAFT
