"""`.slice-orchestrator/state.json`: the documented shape (slices, deployments, conflicts,
nightly_last_run), extended with what keeps slice IDs stable and writes incremental. It is this
machine's record (statuses, deployments, cursors) and is not committed; `rebuilt_state` says what
comes back from the committed files when it is missing."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

from .baselines import load_baseline
from .budget import Spent
from .bulk import gc_paused
from .errors import Diagnostic, VSOError
from .jsonfile import dumps_by_line
from .plan import Plan
from .project import Project, sha256_bytes

STATE_FORMAT = "1.0.0"
FIRST_VERSION = "1.0.0"  # a slice's first version
_LAST_UPDATED = re.compile(r'^ "last_updated": ("[^"\n]*"|null),?$', re.M)  # how dumps_by_line writes it
# Kept per slice for VSO's own bookkeeping; `vso status --json` leaves them out.
INTERNAL_SLICE_KEYS = ("files", "input_hash")

EMPTY_STATE = {
    "version": STATE_FORMAT,
    "master_spec": None,
    "slices": {},
    "deployments": {"test": {"slices_deployed": []}, "production": {"slices_deployed": []}},
    "conflicts": [],
    "nightly_last_run": None,
    "last_change_check": None,
}


class SliceStatus(StrEnum):
    """Where a slice is: planned (draft), built (unit tests green), tested (integration tests green in
    test), deployed (serving production); retired once its component left the master spec."""

    DRAFT = "draft"
    IMPLEMENTED = "implemented"
    TESTED = "tested"
    DEPLOYED = "deployed"
    RETIRED = "retired"


# The statuses of a slice whose implementation passed its unit tests (a dependency counts as built).
BUILT = (SliceStatus.IMPLEMENTED, SliceStatus.TESTED, SliceStatus.DEPLOYED)


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# What each top-level key of state.json must hold: a file of another shape is refused, not half-read.
_SHAPE = {"slices": dict, "deployments": dict, "conflicts": list, "master_spec": (dict, type(None))}


def load_state(project: Project) -> dict:
    try:
        data = project.state_file.read_bytes()
    except FileNotFoundError:
        return rebuilt_state(project)
    try:
        with gc_paused():
            state = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _broken(project, getattr(exc, "lineno", None), f"not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if problem := _shape_problem(state):
        raise _broken(project, None, problem)
    for key, value in EMPTY_STATE.items():
        state.setdefault(key, copy.deepcopy(value))
    return state


def _shape_problem(state: object) -> str | None:
    if not isinstance(state, dict):
        return f"holds a JSON {type(state).__name__}, not an object"
    for key, kind in _SHAPE.items():
        if key in state and not isinstance(state[key], kind):
            return f"`{key}` holds a JSON {type(state[key]).__name__}"
    bad = next((sid for sid, entry in state.get("slices", {}).items() if not isinstance(entry, dict)), None)
    return f"slice {bad!r} is not a JSON object" if bad else None


def _broken(project: Project, line: int | None, problem: str) -> VSOError:
    """Nothing is changed: the message says how to get a good state.json back."""
    shown, backup = project.relative(project.state_file), project.relative(_backup(project))
    fix = (f"restore the one VSO last wrote before it: `cp {backup} {shown}`, or" if _backup(project).exists()
           else "")
    return VSOError(Diagnostic(shown, line, f"{problem}. It is this machine's record of statuses and deployments: "
                                            f"{fix} move it aside (`mv {shown} {shown}.broken`) and VSO rebuilds "
                                            f"it from the committed files (statuses start over as draft)"))


def _backup(project: Project) -> Path:
    return project.state_file.with_name(project.state_file.name + ".bak")


def rebuilt_state(project: Project) -> dict:
    """state.json is local to a machine (it is not committed); in a fresh clone, or after it was
    deleted, what must travel with the repository comes back from the committed files: slice IDs
    from plan.json, each slice's version and input hash from its metadata.json, and what VSO
    generated for each file from its kept base in generated/. Nothing is built or deployed here yet,
    so every slice is a draft."""
    state = copy.deepcopy(EMPTY_STATE)
    try:
        plan = json.loads(project.plan_file.read_text())
    except (FileNotFoundError, ValueError):
        return state
    for s in plan.get("slices", []):
        entry = {"component": s["name"], "dependencies": s["dependencies"], "platform": s["platform"],
                 "status": SliceStatus.DRAFT, "version": FIRST_VERSION, "last_modified": now()}
        state["slices"][s["slice_id"]] = {**entry, **_committed_record(project, s["slice_id"])}
    for slice_id in plan.get("retired", []):
        state["slices"][slice_id] = {"status": SliceStatus.RETIRED, "version": FIRST_VERSION, "last_modified": now(),
                                     **_committed_record(project, slice_id)}
    return state


def _committed_record(project: Project, slice_id: str) -> dict:
    record: dict = {}
    try:
        metadata = json.loads((project.slices_dir / slice_id / "metadata.json").read_text())
        record.update(version=str(metadata["version"]), input_hash=str(metadata["input_hash"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        pass
    generated = load_baseline(project, slice_id).files
    if generated:
        record["files"] = {rel: sha256_bytes(text.encode()) for rel, text in generated.items()}
    return record


def save_state(project: Project, state: dict) -> bool:
    """Writes only when something changed, so an unchanged run leaves the file untouched. The
    comparison is of text, rendered with the recorded `last_updated`: decoding the file again would
    cost as much as reading it did."""
    before = project.state_file.read_text() if project.state_file.exists() else None
    recorded = _LAST_UPDATED.search(before) if before else None
    state["last_updated"] = json.loads(recorded[1]) if recorded else None
    text = dumps_by_line(state, expand=("slices",))
    if text == before:
        return False
    # The one line that differs from the text just rendered: not worth rendering 1,000 slices again.
    stamp = now()
    text = text.replace(_last_updated_line(state["last_updated"]), _last_updated_line(stamp), 1)
    state["last_updated"] = stamp
    if before is not None:
        # The file being replaced stays as the backup: a hard link, so keeping it copies nothing.
        _backup(project).unlink(missing_ok=True)
        try:
            os.link(project.state_file, _backup(project))
        except OSError:  # a file system without hard links
            shutil.copyfile(project.state_file, _backup(project))
    project.write(project.state_file, text)
    return True


def _last_updated_line(value: str | None) -> str:
    return f'\n "last_updated": {json.dumps(value)}'


@contextmanager
def updating_state(project: Project) -> Iterator[dict]:
    """Read-modify-write of state.json under the project's lock. Written only when the block
    finishes (and only if something changed): a step that fails leaves the last good state."""
    with project.lock():
        state = load_state(project)
        yield state
        save_state(project, state)


# The named writes: each is one read-modify-write of state.json under the project's lock, and
# together they are every change VSO makes to the document outside a decomposition's batch.

def record_change_check(project: Project, cursor: str | None = None) -> None:
    """When VSO last looked for changes; `cursor`: the commit the next look starts after."""
    with updating_state(project) as state:
        state["last_change_check"] = now()
        if cursor is not None:
            state["sync_cursor"] = cursor


def record_nightly_run(project: Project) -> None:
    with updating_state(project) as state:
        state["nightly_last_run"] = now()


def mark_implemented(project: Project, slice_id: str, tested_commit: str | None = None,
                     built_version: str | None = None, environment: str | None = None,
                     coverage: float | None = None) -> None:
    """`built_version`: the slice version whose spec the tested commit implements. The stale rules
    compare it with the version wanted now: a version bump that was never built is work to do,
    whatever a killed process did or did not record. `environment`: the digest of the slice
    environment the commit was tested in (its interpreter and requirements); `coverage`: the line
    coverage its unit tests reached there."""
    with updating_state(project) as state:
        entry = state["slices"][slice_id]
        if entry.get("status") not in BUILT:
            entry.update(status=SliceStatus.IMPLEMENTED, last_modified=now())
        if tested_commit:
            entry["tested_commit"] = tested_commit
        if built_version:
            entry["built_version"] = built_version
        if environment:
            entry["tested_environment"] = environment
        if coverage is not None:
            entry["coverage"] = coverage


# What a slice's agent teams spent, summed over every run (failed ones too): `vso status` shows it.
# cost_usd is unknown (None) once a run's cost was not reported; cost_reported_usd is what was.
SPEND_KEYS = ("tokens_in", "tokens_out", "cost_usd", "cost_reported_usd", "turns", "restarts", "minutes", "runs")


def record_team_spend(project: Project, slice_id: str, spent: dict[str, float | None]) -> None:
    """Adds one team run's spend (SPEND_KEYS but `runs`) to the slice's `agent_spend` totals. A value
    the run could not tell (None: its agents did not report a cost, say) leaves that total unknown."""
    with updating_state(project) as state:
        entry = state["slices"][slice_id]
        totals = entry.get("agent_spend") or {}
        entry["agent_spend"] = {key: _add(totals.get(key, 0), 1 if key == "runs" else spent.get(key, 0))
                                for key in SPEND_KEYS}


def spent_by_teams(state: dict) -> Spent:
    """What every slice's agent teams have spent so far, by the running totals above."""
    return sum((Spent.of(entry.get("agent_spend") or {}) for entry in state["slices"].values()), Spent())


def _add(total: float | None, more: float | None) -> float | None:
    return None if total is None or more is None else round(total + more, 4)


def record_integration(project: Project, slice_id: str, result: dict) -> None:
    """The slice's last integration run (`passed`, and the deployment it ran against); a pass makes a
    built slice tested."""
    with updating_state(project) as state:
        entry = state["slices"][slice_id]
        entry["integration"] = {**result, "at": now()}
        if result["passed"] and entry.get("status") in (SliceStatus.DRAFT, SliceStatus.IMPLEMENTED):
            entry["status"] = SliceStatus.TESTED


def mark_deployed(project: Project, slice_id: str) -> None:
    with updating_state(project) as state:
        state["slices"][slice_id].update(status=SliceStatus.DEPLOYED, last_modified=now())


def endpoints_in(state: dict, environment: str) -> dict[str, dict]:
    """Each slice's deployment record in `environment`, by slice ID (empty where nothing serves)."""
    return state["deployments"].get(environment, {}).get("endpoints", {})


def record_deployment(project: Project, slice_id: str, environment: str, record: dict) -> dict | None:
    """The slice now serves `environment` as `record` says; returns the record it replaced."""
    with updating_state(project) as state:
        env = state["deployments"].setdefault(environment, {"slices_deployed": []})
        previous = env.setdefault("endpoints", {}).get(slice_id)
        # What serves is the commit its unit tests passed on (the deploy checked the branch is at it).
        env["endpoints"][slice_id] = {**record, "commit": state["slices"].get(slice_id, {}).get("tested_commit")}
        if slice_id not in env["slices_deployed"]:
            env["slices_deployed"].append(slice_id)
    return previous


def forget_deployment(project: Project, slice_id: str, environment: str) -> dict | None:
    """The slice no longer serves `environment`; returns the record it had."""
    with updating_state(project) as state:
        env = state["deployments"].setdefault(environment, {"slices_deployed": []})
        previous = env.get("endpoints", {}).pop(slice_id, None)
        if slice_id in env["slices_deployed"]:
            env["slices_deployed"].remove(slice_id)
    return previous


def set_branch_conflict(project: Project, slice_id: str, conflict: dict | None) -> None:
    """Replaces the slice's branch conflict (None: it has none, its branch is merged home)."""
    with updating_state(project) as state:
        gone = conflicts_of(state, {slice_id}, "branch")
        state["conflicts"] = [c for c in state["conflicts"] if c not in gone] + ([conflict] if conflict else [])


# The batch writes: a decomposition, a sync of the master or a resolve changes many entries under one
# lock and saves the document once; these change the state it holds, in memory.

def record_plan(state: dict, plan: Plan, master: dict) -> list[tuple[str, str, str]]:
    """New slices start as drafts, a slice whose component left is retired (its files stay), one that
    came back is a draft again; `master`: what the master spec is now (title, version, hash, ...).
    Returns what changed, as (event, slice ID, component) with event "new", "back" or "retired"."""
    slices, events = state["slices"], []
    for s in plan.slices:
        entry = slices.get(s.slice_id)
        if entry is None:
            entry = slices[s.slice_id] = {"version": FIRST_VERSION, "status": SliceStatus.DRAFT, "last_modified": now()}
            events.append(("new", s.slice_id, s.name))
        elif entry.get("status") == SliceStatus.RETIRED:
            entry["status"] = SliceStatus.DRAFT
            events.append(("back", s.slice_id, s.name))
        entry.update(component=s.name, dependencies=s.dependencies, platform=s.platform)
    for slice_id in plan.retired:
        if slices[slice_id].get("status") != SliceStatus.RETIRED:
            slices[slice_id]["status"] = SliceStatus.RETIRED
            events.append(("retired", slice_id, slices[slice_id].get("component", "")))
    previous = state.get("master_spec") or {}
    changed = previous.get("hash") != master["hash"] or previous.get("version") != master["version"]
    state["master_spec"] = {**previous, **master,
                            "last_modified": now() if changed else previous.get("last_modified", now())}
    return events


def record_slice_written(state: dict, slice_id: str, version: str, files: dict[str, str], input_hash: str,
                         changed: bool) -> None:
    """What VSO last wrote for the slice: each file's hash, and the inputs it was rendered from."""
    entry = state["slices"][slice_id]
    entry.update(version=version, files=files, input_hash=input_hash)
    if changed:
        entry["last_modified"] = now()


def replace_conflicts(state: dict, slice_id: str, current: list[dict]) -> None:
    """The slice's master/slice file conflicts are now exactly `current` (its branch conflict stays)."""
    mine = conflicts_of(state, {slice_id})
    state["conflicts"] = [c for c in state["conflicts"] if c not in mine] + current


def settle(state: dict, slice_id: str, regenerated: dict[str, str]) -> None:
    """Every conflict of the slice is settled; `regenerated`: the hashes of files VSO now stands behind."""
    entry = state["slices"][slice_id]
    entry.setdefault("files", {}).update(regenerated)
    state["conflicts"] = [c for c in state["conflicts"] if c.get("slice_id") != slice_id]
    entry["last_modified"] = now()


def record_master_written(state: dict, written: str, written_over: str) -> None:
    """What VSO wrote into the master, on top of which text (hashes): VSO commits the file only when
    both still hold (its own change to a committed master, no uncommitted edit of someone else in it)."""
    state["master_spec"] = {**(state.get("master_spec") or {}), "written": written, "written_over": written_over}


def conflicts_of(state: dict, slice_ids: Collection[str], kind: str | None = None) -> list[dict]:
    """The slices' recorded conflicts of one kind: None for a master/slice file conflict, "branch" for a
    branch that could not be merged home."""
    return [c for c in state["conflicts"] if c.get("slice_id") in slice_ids and c.get("kind") == kind]


def public_view(state: dict) -> dict:
    view = copy.deepcopy(state)
    for entry in view.get("slices", {}).values():
        for key in INTERNAL_SLICE_KEYS:
            entry.pop(key, None)
    return view


def bump(version: str, part: str = "patch") -> str:
    """Semver: major, minor or patch; pre-release and build suffixes are dropped."""
    core, _, _ = version.partition("-")
    major, minor, patch = (int(p) for p in core.split("+")[0].split("."))
    bumped = {"major": (major + 1, 0, 0), "minor": (major, minor + 1, 0), "patch": (major, minor, patch + 1)}[part]
    return ".".join(map(str, bumped))
