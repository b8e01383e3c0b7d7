"""A state.json broken from outside (a bad merge, a truncated copy, a hand edit): every command
refuses it with the file, the problem and the way back, exits 2, and leaves the file as it was."""

from __future__ import annotations

import json

import pytest


def with_slices(good: bytes, slices) -> bytes:
    return json.dumps({**json.loads(good), "slices": slices}).encode()


CORRUPT = {
    "truncated": lambda good: good[: len(good) // 2],
    "empty": lambda good: b"",
    "a list": lambda good: b"[]",
    "merge markers": lambda good: b"<<<<<<< HEAD\n" + good + b"=======\n{}\n>>>>>>> theirs\n",
    "slices as a list": lambda good: with_slices(good, list(json.loads(good)["slices"])),
    "a slice as a string": lambda good: with_slices(good, {"slice-001-auth": "x"}),
    "not UTF-8": lambda good: b"\xff\xfe" + good,
}
COMMANDS = [("status",), ("status", "--json"), ("decompose",), ("validate",), ("nightly", "--dry-run"), ("sync",),
            ("orchestrate", "--slice-id", "slice-001-auth"), ("deploy", "--slice-id", "slice-001-auth",
                                                               "--environment", "test")]


@pytest.fixture
def broken_kinds(committed, vso):
    # A state.json VSO wrote, and the backup of the one before it.
    assert vso("orchestrate", "--slice-id", "slice-001-auth").exit_code == 0
    assert (committed.state_dir / "state.json.bak").exists()
    return committed


def test_every_command_refuses_a_corrupt_state_json_and_says_how_to_get_it_back(broken_kinds, vso):
    # Every kind on one project (building it is the slow part); the good file is put back between.
    project = broken_kinds
    good = project.state_file.read_bytes()
    for kind, corrupt in CORRUPT.items():
        broken = corrupt(good)
        project.state_file.write_bytes(broken)
        for args in COMMANDS:
            result = vso(*args)
            assert result.exit_code == 2, (kind, args, result.output)
            assert result.output.startswith(".slice-orchestrator/state.json"), (kind, args, result.output)
            assert "Traceback" not in result.output, kind
            assert "mv .slice-orchestrator/state.json .slice-orchestrator/state.json.broken" in result.output, kind
            assert project.state_file.read_bytes() == broken, kind  # left as it was
        project.state_file.write_bytes(good)


def test_the_backup_it_names_restores_the_last_good_state(broken_kinds, vso):
    project = broken_kinds
    project.state_file.write_bytes(b"{")
    said = vso("status").output
    assert "cp .slice-orchestrator/state.json.bak .slice-orchestrator/state.json" in said
    (project.state_dir / "state.json.bak").replace(project.state_file)
    assert vso("status").exit_code == 0


def test_moved_aside_it_is_rebuilt_from_the_committed_files(broken_kinds, vso):
    project = broken_kinds
    project.state_file.write_bytes(b"[]")
    project.state_file.rename(project.state_dir / "state.json.broken")
    listed = vso("status")
    assert listed.exit_code == 0 and "slice-003-reports" in listed.output


BROKEN_PLANS = {
    "truncated": lambda good: good[: len(good) // 2],
    "a list": lambda good: b"[]",
    "a slice missing a field": lambda good: json.dumps(
        {**json.loads(good), "slices": [{"slice_id": "slice-001-auth"}]}).encode(),
}


def test_a_broken_plan_json_is_refused_by_name_and_deleting_it_plans_again(broken_kinds, vso):
    project = broken_kinds
    good = project.plan_file.read_bytes()
    for kind, breaks in BROKEN_PLANS.items():
        project.plan_file.write_bytes(breaks(good))
        for args in (("decompose",), ("orchestrate", "--slice-id", "slice-001-auth")):
            result = vso(*args)
            assert result.exit_code != 0, (kind, args, result.output)
            refused = ".slice-orchestrator/plan.json: not a plan VSO wrote"
            assert result.output.startswith(refused), (kind, result.output)
            assert "delete it and run `vso decompose`" in result.output, kind
            assert "Traceback" not in result.output, kind
    project.plan_file.unlink()
    assert vso("decompose").exit_code == 0
    assert vso("orchestrate", "--slice-id", "slice-001-auth").exit_code == 0
