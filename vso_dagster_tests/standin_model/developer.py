"""The scripted developer the STAND-IN model APIs play in a VSO team.

Told (by the agent's one-shot prompt) where its briefing is, or given the briefing itself (pasted
into an interactive CLI), it works the way a coding model does, one tool call per turn, through the
CLI's own tools: it reads the briefing if it has to; as the developer it reads
the slice's implementation file, writes the implementation (the scaffold agent's code: the stand-in
is the model, not the generator), runs the unit tests with the CLI's shell tool and, once they
pass, writes the done marker. Any other role reads its briefing and ends its turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BRIEFING = re.compile(r"briefing is the file (\S+?):")
_ROLE = re.compile(r"You are the \*\*(\w+)\*\*")
_SLICE = re.compile(r"team building (slice-\d{3}-[a-z0-9-]+)")
_WORKDIR = re.compile(r"inside this worktree: `([^`]+)`")
_SERVICE = re.compile(r"Implement the slice in `([^`]+)`")
_TESTS = re.compile(r"The unit tests: `([^`]+)`")
_MARKER = re.compile(r"summary of what was built to `([^`]+)`")


def green(pytest_output: str) -> bool:
    """pytest's last line says tests passed and none failed."""
    return bool(re.search(r"\b\d+ passed\b", pytest_output)) and not re.search(r"\b\d+ (failed|errors?)\b",
                                                                                pytest_output)


@dataclass(frozen=True)
class Call:
    """One tool call: the tool's name in the CLI (`read`, `write`, `shell`) and its arguments."""

    tool: str
    args: dict


@dataclass(frozen=True)
class Task:
    """What a developer's briefing asks for (paths as the briefing gives them)."""

    slice_id: str
    workdir: Path
    service: str  # relative to the workdir
    tests: str  # the unit-test command
    marker: Path


def developer_task(briefing: str) -> Task | None:
    """The task of a developer's briefing; None for another role's."""
    role, slice_id = _ROLE.search(briefing), _SLICE.search(briefing)
    if role is None or slice_id is None or role[1] != "developer":
        return None
    return Task(slice_id[1], Path(_WORKDIR.search(briefing)[1]), _SERVICE.search(briefing)[1],
                _TESTS.search(briefing)[1], Path(_MARKER.search(briefing)[1]))


def next_call(prompt: str, results: list[str], code_for: Callable[[str], str]) -> Call | None:
    """The developer's next tool call, given the prompt and the tool results so far (None: done).
    A one-shot CLI's prompt names the briefing's file, read first; pasted into an interactive CLI,
    the prompt is the briefing itself."""
    found = BRIEFING.search(prompt)
    if found is None:
        briefing = prompt
    elif not results:
        return Call("read", {"path": found[1]})
    else:
        briefing, results = results[0], results[1:]
    task = developer_task(briefing)
    if task is None:
        return None
    service = str(task.workdir / task.service)
    steps = [
        Call("read", {"path": service}),
        Call("write", {"path": service, "content": code_for(task.slice_id), "exists": True}),
        Call("shell", {"command": task.tests, "workdir": str(task.workdir)}),
        Call("write", {"path": str(task.marker),
                       "content": f"{task.slice_id}: implemented by the stand-in model; unit tests pass\n"}),
    ]
    done = len(results)
    if done == 3 and not green(results[-1]):
        return None  # the tests did not pass: no marker (VSO would find them red anyway)
    return steps[done] if done < len(steps) else None
