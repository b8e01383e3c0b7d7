"""`.slice-orchestrator/state.json`: the seed's shape (slices, deployments, conflicts,
nightly_last_run), extended with what keeps slice IDs stable and writes incremental."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager

from .bulk import gc_paused
from .jsonfile import dumps_by_line
from .project import Project

STATE_FORMAT = "1.0.0"
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


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def load_state(project: Project) -> dict:
    try:
        text = project.state_file.read_text()
    except FileNotFoundError:
        return copy.deepcopy(EMPTY_STATE)
    with gc_paused():
        state = json.loads(text)
    for key, value in EMPTY_STATE.items():
        state.setdefault(key, copy.deepcopy(value))
    return state


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
