"""Long commands say how far they got while they work, and every command that reports results can
report them as JSON for a script: stdout then holds the JSON alone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from .conftest import EXAMPLES, commit, run_vso


def test_decompose_shows_its_phases_and_counts_the_slices_it_writes_at_a_terminal(project):
    shutil.copy(EXAMPLES / "marketplace.md", project.master_spec)
    done = run_vso(project.root, "decompose", terminal=True)
    assert done.returncode == 0, done.stdout[-3000:]
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", done.stdout.replace("\r", "\n"))
    assert "planning" in screen
    assert re.search(r"writing slices .*\b0/10\b.*\d:\d\d:\d\d", screen), screen[-3000:]  # live, with the time
    assert re.search(r"^writing slices: 10/10 in \d+\.\d s$", screen, re.M)  # the line it leaves
    assert "10 slices, 10 written or refreshed" in screen


def test_json_reports_are_the_whole_of_stdout_and_slices_are_said_as_they_finish(project):
    subprocess.run(["git", "init", "-q", "-b", "main", str(project.root)], check=True)
    assert run_vso(project.root, "init").returncode == 0
    shutil.copy(EXAMPLES / "todo-small.md", project.master_spec)
    commit(project.root, "spec")

    validated = run_vso(project.root, "validate", "--json")
    assert json.loads(validated.stdout)["slices"] == ["slice-001-auth", "slice-002-todos", "slice-003-notifications"]
    decomposed = run_vso(project.root, "decompose", "--json")
    report = json.loads(decomposed.stdout)
    assert report["written"] == ["slice-001-auth", "slice-002-todos", "slice-003-notifications"]
    assert len(report["runs"]) == 3 and report["commit"]["sha"]

    built = run_vso(project.root, "orchestrate", "--all", "--json")
    assert built.returncode == 0, built.stderr[-3000:]
    outcomes = json.loads(built.stdout)
    assert [(o["slice_id"], o["result"]) for o in outcomes] == [
        ("slice-001-auth", "implemented"), ("slice-002-todos", "implemented"),
        ("slice-003-notifications", "implemented")]
    assert all(o["run_id"] and o["duration_s"] > 0 for o in outcomes)
    # Each slice was said on stderr when it finished: the dependency first.
    said = [line.split(":")[0] for line in built.stderr.splitlines() if ": implemented" in line]
    assert said[0] == "slice-001-auth" and sorted(said) == [o["slice_id"] for o in outcomes]

    tested = run_vso(project.root, "test", "slice-002-todos", "--json")
    assert json.loads(tested.stdout)[0]["result"] == "passed"
    nothing = run_vso(project.root, "nightly", "--dry-run", "--json")
    assert {w["slice_id"] for w in json.loads(nothing.stdout)["stale"]} == {
        "slice-001-auth", "slice-002-todos", "slice-003-notifications"}  # never deployed
    status = json.loads(run_vso(project.root, "status", "--json").stdout)
    assert status["slices"]["slice-001-auth"]["status"] == "implemented"
