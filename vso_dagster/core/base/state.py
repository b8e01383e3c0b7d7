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
from pathlib import Path

from .baselines import load_baseline
from .bulk import gc_paused
from .errors import Diagnostic, VSOError
from .jsonfile import dumps_by_line
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

# The statuses of a slice whose implementation passed its unit tests (a dependency counts as built).
BUILT = ("implemented", "tested", "deployed")

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
                 "status": "draft", "version": FIRST_VERSION, "last_modified": now()}
        state["slices"][s["slice_id"]] = {**entry, **_committed_record(project, s["slice_id"])}
    for slice_id in plan.get("retired", []):
        state["slices"][slice_id] = {"status": "retired", "version": FIRST_VERSION, "last_modified": now(),
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
