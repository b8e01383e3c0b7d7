"""The Dagster-native path, live: the implementation_waves sensor, Dagster's run queue and a real
dagster-daemon build the small example in dependency waves, each run tagged for the queue, and no
run starts while the agent-team pool has no slot for its team."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import time

import dagster as dg
import pytest

from .conftest import EXAMPLES, venv_bin


# On PostgreSQL only, the storage a shared run queue and pool live on: the same daemon, sensor and queue
# on SQLite run in test_code_location_runs.py and test_health.py.
@pytest.mark.parametrize("storage", ["postgres"], indirect=True)
def test_sensor_and_queue_build_every_slice_in_waves(project, vso, storage):
    subprocess.run(["git", "init", "-q", str(project.root)], check=True)
    assert vso("init", *storage).exit_code == 0
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
    # The pool's two slots (dagster.yaml's default limit) are taken, as by two teams of another project
    # on the same instance.
    others = [("another-project", "team-1"), ("another-project", "team-2")]
    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        assert instance.event_log_storage.initialize_concurrency_limit_to_default("vso_agent_teams")
        for run_id, step in others:
            instance.event_log_storage.claim_concurrency_slot("vso_agent_teams", run_id, step)
        assert len(instance.event_log_storage.get_concurrency_info("vso_agent_teams").claimed_slots) == 2

    daemon = subprocess.Popen([venv_bin("dagster-daemon"), "run", "-w", workspace], env=env,
                              cwd=project.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        statuses: dict = {}
        with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
            queued = first_queued_implementation(instance, deadline)
            # The queue's daemon (it takes a run off within a second or two when nothing holds it; it
            # is up, since its sensor asked for the run) keeps it: its team would have no slot.
            time.sleep(max(0.0, queued + 6 - time.time()))
            assert instance.get_run_by_id(run_id_of(instance, queued)).status == dg.DagsterRunStatus.QUEUED
            assert not [e for e in json.loads(project.state_file.read_text())["slices"].values()
                        if e["status"] == "implemented"]
            for run_id, step in others:
                instance.event_log_storage.free_concurrency_slot_for_step(run_id, step)
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


def first_queued_implementation(instance, deadline: float) -> float:
    """When the first vso_implement run was put in the queue."""
    while not (runs := instance.get_run_records(dg.RunsFilter(job_name="vso_implement"))):
        assert time.monotonic() < deadline, "the sensor never asked for an implementation run"
        time.sleep(0.5)
    return min(record.create_timestamp.timestamp() for record in runs)


def run_id_of(instance, created: float) -> str:
    return next(r.dagster_run.run_id for r in instance.get_run_records(dg.RunsFilter(job_name="vso_implement"))
                if r.create_timestamp.timestamp() == created)


