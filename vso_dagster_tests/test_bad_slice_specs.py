"""A slice's spec.md edited into something VSO cannot carry to the master: `vso sync` (the edit
committed) or `vso decompose` (a master change to merge into it) says `file:line: what is wrong`,
exits 2 with no traceback, and leaves the master spec, state.json and the slice as they were, and
nothing written outside the project. Each case here once made VSO write a master that the next
command refused, add a line again at every sync, hang, or print a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vso_dagster.core.base.state import load_state

from .conftest import commit, tree_digest

TODOS = "slice-002-todos"
SPEC = f"vertical-slices/{TODOS}/spec.md"
LAST_ENDPOINT = "- GET /todos/{todo_id} → no body → Read a todo\n"
CRITERIA = "### As a user, I can:\n"


def endpoint(line: str):
    return lambda text: text.replace(LAST_ENDPOINT, LAST_ENDPOINT + line + "\n")


def criterion(line: str):
    return lambda text: text.replace(CRITERIA, CRITERIA + line + "\n")


# (how the slice's spec.md is changed, what the error starts with). Line 37 is the endpoint added
# after the last one, line 20 the criterion added first.
EDITS = {
    "a path with an empty and a '..' segment": (endpoint("- DELETE //todos/../x → no body → Delete"),
                                                f"{SPEC}:37: endpoint path '//todos/../x' has an empty, '.' or '..'"),
    "a parameter named twice": (endpoint("- DELETE /todos/{a}/{a} → no body → Delete"),
                                f"{SPEC}:37: endpoint path '/todos/{{a}}/{{a}}' names the parameter {{a}} twice"),
    "an unknown method": (endpoint("- FETCH /todos/x → no body → Fetch"), f"{SPEC}:37: unknown HTTP method 'FETCH'"),
    "a path with shell metacharacters": (endpoint("- GET /todos;rm → no body → Gone"),
                                         f"{SPEC}:37: endpoint path '/todos;rm' may only hold letters"),
    "a path with command substitution": (endpoint("- GET /$(reboot) → no body → Gone"),
                                         f"{SPEC}:37: endpoint path '/$(reboot)' may only hold letters"),
    "a path parameter that is a Python keyword": (endpoint("- GET /todos/{class} → no body → Class"),
                                                  f"{SPEC}:37: path parameter {{class}} is a Python keyword"),
    "an endpoint line in no endpoint's form": (endpoint("- GET /todos/done: the finished ones"),
                                               f"{SPEC}:37: an endpoint in a slice spec reads `- METHOD /path"),
    "a criterion that is a heading in a list": (criterion("- ## Vertical Slices"),
                                                f"{SPEC}:20: this line would not read back from the master spec"),
    "a criterion with a form feed": (criterion("- archive\x0cthem"),
                                     f"{SPEC}:20: this line would not read back from the master spec"),
    "not UTF-8": (lambda text: text.replace("Read a todo", "Read a t\udce9do"), f"{SPEC}:36: not valid UTF-8"),
    "a NUL byte": (lambda text: text.replace("Read a todo", "Read a t\x00do"), f"{SPEC}:36: the file holds a NUL"),
    "6 MB of text": (lambda text: text + "x" * (6 * 1024 * 1024), f"{SPEC}:1: the file is 6.0 MiB"),
}


@pytest.fixture
def before(committed):
    """What must not change, and a file beside the project that must stay the only thing there."""
    outside = committed.root.parent
    (outside / "neighbour.txt").write_text("not VSO's\n")
    return lambda: (committed.master_spec.read_bytes(), committed.state_file.read_bytes(),
                    sorted(p.name for p in outside.iterdir()))


def refused(vso, command: str, expected: str) -> None:
    result = vso(command)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(expected), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", EDITS)
def test_a_committed_slice_spec_edit_the_master_cannot_hold_is_refused_at_its_line(case, committed, before, vso):
    edit, expected = EDITS[case]
    spec = committed.root / SPEC
    spec.write_bytes(edit(spec.read_text()).encode("utf-8", "surrogateescape"))
    commit(committed.root, "edit the slice spec")
    untouched, slice_before = before(), tree_digest(spec.parent)
    for command in ("sync", "sync", "decompose"):  # refused again: nothing half-done the retry skips
        refused(vso, command, expected)
    assert before() == untouched
    assert tree_digest(spec.parent) == slice_before
    assert vso("validate").exit_code == 0  # the master VSO left is one the next command takes


def test_two_slices_adding_the_same_endpoint_is_refused_at_the_second(committed, before, vso):
    for slice_id in ("slice-001-auth", TODOS):
        spec = committed.slice_dir(slice_id) / "spec.md"
        text = spec.read_text()
        spec.write_text(text.replace("\n## Data Models", "- DELETE /todos → no body → Delete all\n\n## Data Models"))
    commit(committed.root, "both add DELETE /todos")
    untouched = before()
    refused(vso, "sync", f"{SPEC}:37: endpoint 'DELETE /todos' is listed twice")
    assert before() == untouched


# A slice file replaced by something that is no text file: reading it must neither hang nor crash.
REPLACED = {
    "a directory": (lambda path: (path.mkdir(), (path / "notes.md").write_text("x")), "is a directory"),
    "a FIFO": (os.mkfifo, "is a FIFO"),
}


@pytest.mark.parametrize("case", REPLACED)
@pytest.mark.parametrize("rel", ["spec.md", "service/main.py"])
def test_a_slice_file_replaced_by_no_file_is_refused_by_decompose(case, rel, committed, before, vso):
    make, said = REPLACED[case]
    target = committed.slice_dir(TODOS) / rel
    target.unlink()
    make(target)
    committed.master_spec.write_text(committed.master_spec.read_text().replace("Todo items", "Todo items and lists"))
    master, recorded = committed.master_spec.read_bytes(), load_state(committed)["slices"][TODOS]
    for _ in range(2):  # and again: the plan of the new master is made, the slice waits for its file
        refused(vso, "decompose", f"vertical-slices/{TODOS}/{rel}: {said}; VSO reads and writes a file here")
    assert committed.master_spec.read_bytes() == master
    assert load_state(committed)["slices"][TODOS] == recorded
    log = (committed.logs_dir / "decomposition.log").read_text()
    assert f"decomposition refused:\nvertical-slices/{TODOS}/{rel}:" in log
    target.rename(committed.root.parent / "moved-aside")  # what the message says to do: then it goes on
    assert vso("decompose").exit_code == 0
    assert target.is_file() and "Todo items and lists" in (committed.slice_dir(TODOS) / "spec.md").read_text()


def test_a_slice_spec_linked_outside_the_project_is_never_carried_into_the_master(committed, before, vso):
    spec = committed.root / SPEC
    outside = committed.root.parent / "elsewhere.md"
    outside.write_text(endpoint("- DELETE /todos/{todo_id} → no body → Delete")(spec.read_text()))
    spec.unlink()
    spec.symlink_to(outside)
    commit(committed.root, "link the slice spec")
    untouched = before()
    result = vso("sync")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{SPEC}: resolves to {outside}, outside the project root" in result.stderr
    assert before() == untouched
    assert outside.read_text().count("DELETE") == 1  # read, never written


def test_a_valid_addition_still_goes_home_once_in_a_crlf_master(committed, vso):
    """The guard refuses only what the master cannot hold: a plain edit is carried over, in the
    master's own line endings, and the next sync adds nothing again."""
    master = committed.master_spec
    master.write_bytes(master.read_bytes().replace(b"\n", b"\r\n"))
    commit(committed.root, "CRLF master")
    assert vso("sync").exit_code == 0
    spec = committed.root / SPEC
    spec.write_text(criterion("- archive done todos")(endpoint("- DELETE /todos/{todo_id} → no body → Delete")(
        spec.read_text())))
    commit(committed.root, "edit the slice spec")
    synced = vso("sync")
    assert synced.exit_code == 0, synced.output
    data = master.read_bytes()
    assert b"- A user can create and list todos\r\n- archive done todos [Todos]\r\n" in data
    assert "- GET /reports/weekly -> Weekly report\r\n- DELETE /todos/{todo_id} → Delete [Todos]\r\n".encode() in data
    assert data.count(b"\n") == data.count(b"\r\n")
    assert vso("sync").exit_code == 0
    assert master.read_bytes().count(b"archive done todos") == 1
    assert Path(master).read_text().count('version: "1.1.0"') == 1
