"""Faults: VSO's commands killed (kill -9, as a closed laptop or an OOM killer does) in the middle
of their work. The next command must finish that work: nothing skipped, nothing left holding a slice."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import dagster as dg

from vso_dagster.core.state import load_state
from vso_dagster.lib.instance import use_project_instance

from .conftest import venv_bin
from .test_journeys import branch_spec, nightly_row
from .test_sync import AUTH, edit_master


def start_vso(project, *args: str) -> subprocess.Popen:
    """The real `vso` executable in a process group of its own, as a terminal starts it."""
    env = {k: v for k, v in os.environ.items() if k not in ("VSO_PROJECT_ROOT", "DAGSTER_HOME")}
    return subprocess.Popen([venv_bin("vso"), "--project-root", str(project.root), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def kill_when(process: subprocess.Popen, ready, timeout_s: float = 180) -> None:
    """SIGKILL to the whole group as soon as `ready()` holds (polled; the process must still run)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert process.poll() is None, "the command finished before the moment to kill it"
        assert time.monotonic() < deadline, "the moment to kill never came"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_a_sync_killed_once_the_new_spec_is_written_is_finished_by_the_next_sync(committed, vso):
    assert vso("orchestrate", "--slice-id", AUTH).exit_code == 0
    assert vso("sync").exit_code == 0
    edit_master(committed, "Sign-up, login and tokens", "Sign-up, login, tokens and an audit log")
    spec = committed.slice_dir(AUTH) / "spec.md"
    kill_when(start_vso(committed, "sync"), lambda: "an audit log" in spec.read_text())

    again = vso("sync")
    assert again.exit_code == 0, again.output
    assert "an audit log" in branch_spec(committed, AUTH)  # the new version was built, not skipped
    entry = load_state(committed)["slices"][AUTH]
    assert entry["status"] == "implemented" and entry["version"] == "1.0.1"
    use_project_instance(committed)
    with dg.DagsterInstance.get() as instance:
        stuck = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        failed = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    assert stuck == []  # the killed run no longer holds the slice…
    assert failed, "…it is marked failed"
    assert "slice_implementation" not in nightly_row(vso, AUTH)  # and the work is done, once
