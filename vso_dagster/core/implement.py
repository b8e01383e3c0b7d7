"""Implementing one slice: on its own branch and worktree, by an agent (the built-in scaffold
generator, or a team of coding agents in tmux), done only when its unit tests pass."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .config import load_config
from .errors import VSOError
from .project import Project
from .scaffold_agent import implement
from .state import load_state, now, save_state
from .team_run import run_team
from .unit_tests import TestRun, run_tests
from .worktrees import Worktree, commit_all, diff_stats, ensure_worktree, head

log = logging.getLogger("vso.implement")
# A dependency counts as built once its implementation passed its unit tests.
BUILT = ("implemented", "tested", "deployed")


@dataclass(frozen=True)
class Implementation:
    slice_id: str
    agent: str
    worktree: Worktree
    commit: str | None
    head: str
    diff: dict[str, int]
    tests: TestRun
    events: tuple[str, ...] = ()


def blockers(state: dict, s: dict) -> list[str]:
    return [dep for dep in s["dependencies"] if state["slices"].get(dep, {}).get("status") not in BUILT]


def priorities(plan: dict) -> dict[str, int]:
    """How many slices wait on each slice, directly or not: build those first (`dagster/priority`)."""
    dependents: dict[str, set[str]] = {s["slice_id"]: set() for s in plan["slices"]}
    for s in reversed(plan["slices"]):  # dependencies come first in the plan, so dependents are done
        for dep in s["dependencies"]:
            dependents[dep] |= {s["slice_id"]} | dependents[s["slice_id"]]
    return {sid: len(waiting) for sid, waiting in dependents.items()}


def ready_to_build(plan: dict, state: dict, in_flight: set[str]) -> list[str]:
    """Slices not built yet, not being built, whose dependencies are all built: the next wave."""
    return [s["slice_id"] for s in plan["slices"]
            if state["slices"].get(s["slice_id"], {}).get("status") not in BUILT + ("retired",)
            and s["slice_id"] not in in_flight and not blockers(state, s)]


def planned_slice(plan: dict, slice_id: str) -> dict:
    for s in plan["slices"]:
        if s["slice_id"] == slice_id:
            return s
    raise VSOError(f"{slice_id}: not a slice of the current plan; `vso status` lists them")


def implement_slice(project: Project, plan: dict, slice_id: str) -> Implementation:
    s = planned_slice(plan, slice_id)
    state = load_state(project)
    if conflicts := [c["path"] for c in state["conflicts"] if c.get("slice_id") == slice_id and not c.get("kind")]:
        raise VSOError(f"{slice_id}: unresolved conflict in {', '.join(conflicts)}; settle it first with "
                       f"`vso resolve {slice_id} --take master|slice|merged`")
    if waiting := blockers(state, s):
        raise VSOError(f"{slice_id}: blocked by: {', '.join(waiting)}; implement those slices first")
    worktree = ensure_worktree(project, slice_id, state["slices"][slice_id]["version"])
    config = load_config(project)
    events: list[str] = []
    if config.agent is None:
        project.write(worktree.slice_dir / "service" / "main.py", implement(s))
        commit = commit_all(worktree, f"{slice_id}: implementation by the scaffold agent")
        agent = "scaffold"
    else:
        events = run_team(project, s, worktree, config)
        commit = commit_all(worktree, f"{slice_id}: work the {config.agent.name} team left uncommitted")
        agent = config.agent.name
    log.info("%s: %s agent%s on %s", slice_id, agent, f" committed {commit[:12]}" if commit else "",
             worktree.branch)
    tests = unit_tests(worktree)
    log.info("%s: unit tests %s", slice_id, tests.summary())
    if tests.green:
        mark_implemented(project, slice_id)
    return Implementation(slice_id, agent, worktree, commit, head(worktree), diff_stats(worktree), tests,
                          tuple(events))


def unit_tests(worktree: Worktree) -> TestRun:
    return run_tests(worktree.slice_dir / "tests" / "unit", cwd=worktree.slice_dir)


def mark_implemented(project: Project, slice_id: str) -> None:
    with project.lock():
        state = load_state(project)
        entry = state["slices"][slice_id]
        if entry.get("status") not in BUILT:
            entry.update(status="implemented", last_modified=now())
            save_state(project, state)
