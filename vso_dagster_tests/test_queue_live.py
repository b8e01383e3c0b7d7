"""The Dagster-native path, live: the implementation_waves sensor, Dagster's run queue and a real
dagster-daemon build the small example in dependency waves, each run tagged for the queue."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import time

import dagster as dg

from .conftest import EXAMPLES, venv_bin


def test_sensor_and_queue_build_every_slice_in_waves(project, vso):
    subprocess.run(["git", "init", "-q", str(project.root)], check=True)
    assert vso("init").exit_code == 0
    shutil.copy(EXAMPLES / "todo-small.md", project.master_spec)
    assert vso("decompose").exit_code == 0
    subprocess.run(["git", "-C", str(project.root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(project.root), "-c", "user.name=T", "-c", "user.email=t@t", "commit", "-qm",
                    "slices"], check=True)
    env = {**os.environ, "DAGSTER_HOME": str(project.dagster_home), "VSO_PROJECT_ROOT": str(project.root)}
    workspace = str(project.dagster_home / "workspace.yaml")  # what `vso` wrote: location "vso"
    started = subprocess.run([venv_bin("dagster"), "sensor", "start", "implementation_waves", "-w",
                              workspace], env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr[-2000:]

    daemon = subprocess.Popen([venv_bin("dagster-daemon"), "run", "-w", workspace], env=env,
                              cwd=project.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        statuses: dict = {}
        with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
            while time.monotonic() < deadline:
                statuses = {sid: e["status"] for sid, e in json.loads(project.state_file.read_text())["slices"].items()}
                finished = all(r.is_finished for r in instance.get_runs() if r.job_name == "vso_implement")
                if set(statuses.values()) == {"implemented"} and finished:
                    break
                time.sleep(1)
        assert set(statuses.values()) == {"implemented"}, statuses
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)

    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        runs = [r for r in instance.get_runs() if r.job_name == "vso_implement"]
        assert {r.tags["dagster/partition"] for r in runs} == {"slice-001-auth", "slice-002-todos",
                                                               "slice-003-notifications"}
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert all(r.tags["vso/stage"] == "implementation" for r in runs)
        by_slice = {r.tags["dagster/partition"]: r for r in runs}
        assert by_slice["slice-001-auth"].tags["dagster/priority"] == "2"
        # Dependency waves: a slice's run was created only once its dependency was built (green unit
        # tests recorded in state.json; its run may still be closing down at that moment).
        auth_built = dt.datetime.fromisoformat(json.loads(project.state_file.read_text())["slices"]["slice-001-auth"]
                                               ["last_modified"])
        todos_created = instance.get_run_record_by_id(by_slice["slice-002-todos"].run_id).create_timestamp
        assert todos_created >= auth_built
