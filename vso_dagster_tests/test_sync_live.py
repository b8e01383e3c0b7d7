"""The git sensor end to end with a real dagster-daemon: commit a change, and exactly the right runs
appear (the plan, and the one slice whose generated content changed)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import dagster as dg
import pytest

from vso_dagster.core.base.state import load_state
from vso_dagster.core.deployment.deploy import destroy

from .conftest import EXAMPLES, commit, venv_bin
from .test_sync import git


# On SQLite only, a new project's storage. On PostgreSQL, a sensor's ticks, cursor and runs in a real
# daemon are test_queue_live.py's, and `vso sync` is test_postgres_storage.py's.
@pytest.mark.parametrize("storage", ["sqlite"], indirect=True)
def test_a_commit_starts_exactly_the_runs_it_makes_stale(project, vso, storage):
    assert vso("init", *storage).exit_code == 0
    shutil.copy(EXAMPLES / "todo-small.md", project.master_spec)
    assert vso("decompose").exit_code == 0
    commit(project.root, "slices")
    env = {**os.environ, "DAGSTER_HOME": str(project.dagster_home), "VSO_PROJECT_ROOT": str(project.root),
           "VSO_SENSOR_INTERVAL_SECONDS": "2"}
    workspace = str(project.dagster_home / "workspace.yaml")  # what `vso` wrote: location "vso"
    started = subprocess.run([venv_bin("dagster"), "sensor", "start", "git_changes", "-w", workspace],
                             env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr[-2000:]
    daemon = subprocess.Popen([venv_bin("dagster-daemon"), "run", "-w", workspace], env=env,
                              cwd=project.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
            wait_for(lambda: load_state(project)["last_change_check"], "the baseline tick")
            assert not [r for r in instance.get_runs() if r.tags.get("dagster/sensor_name")]  # a baseline only
            text = project.master_spec.read_text()
            project.master_spec.write_text(text.replace("Sign-up, login", "Sign-up, login, logout", 1))
            commit(project.root, "auth learns to log out")
            sha = git(project, "rev-parse", "HEAD")

            def sync_runs() -> list:
                return [r for r in instance.get_runs() if r.tags.get("dagster/sensor_name") == "git_changes"]

            wait_for(lambda: len(sync_runs()) >= 2 and all(r.is_finished for r in sync_runs()), "the runs")
            runs = sync_runs()
            assert sorted((r.job_name, r.tags.get("dagster/partition"), r.tags["dagster/run_key"]) for r in runs) == [
                ("vso_plan", None, f"{sha}:plan"), ("vso_slice_sync", "slice-001-auth", f"{sha}:slice-001-auth")]
            assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [r.status for r in runs]
            # The daemon's run took the new version home: VSO committed its regeneration first.
            log = git(project, "log", "--format=%an|%s", "-4").splitlines()
            assert "VSO|Merge slice-001-auth-v1.0.1: slice-001-auth serves in production" in log, log
            assert git(project, "status", "--porcelain") == ""
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        for env_name in ("test", "production"):
            destroy(project, "slice-001-auth", env_name)
    assert "logout" in (project.slice_dir("slice-001-auth") / "spec.md").read_text()


def wait_for(condition, what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")
