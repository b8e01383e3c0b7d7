"""The commands people reach for first, run as the real `vso` executable: `vso next` (what to build
now), `vso show SLICE` (one slice, all of it), `vso queue` (the run queue), slices named short
(`auth`, `2`) with "did you mean" on a miss, and slice IDs completed by the shell."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.implementation.implement import implement_slice

from .conftest import run_vso, user_env, venv_bin


def test_next_lists_what_is_ready_to_build_most_waited_on_first(committed):
    ready = run_vso(committed.root, "next", "--json", check=True)
    assert [r["slice_id"] for r in json.loads(ready.stdout)] == ["slice-001-auth"]  # the others wait on it
    implement_slice(committed, load_plan(committed), "slice-001-auth")
    ready = json.loads(run_vso(committed.root, "next", "--json", check=True).stdout)
    assert [(r["slice_id"], r["depends_on"]) for r in ready] == [("slice-002-todos", ["slice-001-auth"])]
    shown = run_vso(committed.root, "next", check=True).stdout
    assert "│ slice-002-todos │ Todos" in shown
    assert "Build them: vso orchestrate --slice-id slice-002-todos" in shown


def test_show_says_everything_of_one_slice_named_short_with_its_runs(committed):
    implement_slice(committed, load_plan(committed), "slice-001-auth")
    assert run_vso(committed.root, "test", "auth").returncode == 0  # a Dagster run of its unit tests
    report = json.loads(run_vso(committed.root, "show", "auth", "--json", check=True).stdout)
    assert (report["slice_id"], report["component"], report["status"]) == ("slice-001-auth", "Auth", "implemented")
    assert report["branch"] == "slice-001-auth-v1.0.0" and report["tested_commit"]
    assert report["endpoints"] == ["POST /auth/login"]
    assert report["latency_budget"] == "p95 < 200ms for reads" and report["serving"] == {}
    assert [(r["job"], r["status"]) for r in report["runs"]] == [("vso_unit_tests", "SUCCESS")]
    text = run_vso(committed.root, "show", "--slice-id", "2", check=True).stdout
    assert text.startswith("slice-002-todos  Todos  (service,") and "depends on:   slice-001-auth" in text
    assert "calls:        Auth ($VSO_DEP_AUTH_URL)" in text


def test_a_slice_named_wrong_gets_the_ones_it_could_have_meant(committed):
    typo = run_vso(committed.root, "show", "autth")
    assert typo.returncode == 2 and typo.stderr.strip() == "autth: no such slice; did you mean slice-001-auth?"
    unknown = run_vso(committed.root, "deploy", "--slice-id", "billing")
    assert unknown.returncode == 2 and "billing: no such slice; `vso status` lists them" in unknown.stderr
    assert "Traceback" not in typo.stderr + unknown.stderr


def test_the_shell_completes_slice_ids_by_id_or_name(committed):
    def complete(*words: str) -> list[str]:
        line = ["vso", *words]
        done = run_vso(committed.root, extra_env={"_VSO_COMPLETE": "bash_complete", "COMP_WORDS": " ".join(line),
                                                  "COMP_CWORD": str(len(line) - 1)}, check=True)
        return [item.split(",", 1)[1] for item in done.stdout.splitlines()]

    assert complete("show", "slice-00") == ["slice-001-auth", "slice-002-todos", "slice-003-reports"]
    assert complete("deploy", "--slice-id", "to") == ["slice-002-todos"]


def test_queue_lists_what_waits_first_then_what_ended_from_dagsters_run_storage(committed):
    assert run_vso(committed.root, "init", check=True).returncode == 0  # the instance `vso` uses
    implement_slice(committed, load_plan(committed), "slice-001-auth")
    assert run_vso(committed.root, "test", "auth").returncode == 0  # ends: a run of the unit tests
    config = committed.state_dir / "config.toml"
    config.write_text(config.read_text().replace('launch = "auto"', 'launch = "submit"'))
    # No daemon runs: the build `vso orchestrate` submits waits in the queue.
    waiting = subprocess.Popen([venv_bin("vso"), "orchestrate", "--slice-id", "todos"], cwd=committed.root,
                               env=user_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = json.loads(run_vso(committed.root, "queue", "--json", check=True).stdout)
            if rows and rows[0]["status"] == "QUEUED":
                break
            time.sleep(0.5)
    finally:
        os.killpg(waiting.pid, signal.SIGKILL)
        waiting.wait()
    first, ended = rows[0], rows[1:]
    assert (first["slices"], first["job"], first["status"], first["started_by"], first["seconds"]) == (
        "slice-002-todos", "vso_implement", "QUEUED", "vso", None)
    assert ("slice-001-auth", "vso_unit_tests", "SUCCESS", "vso") in {
        (r["slices"], r["job"], r["status"], r["started_by"]) for r in ended}
    table = run_vso(committed.root, "queue", "--recent", "1", check=True).stdout
    assert table.count("│ slice-") == 2 and "QUEUED" in table  # the waiting run and the last that ended
