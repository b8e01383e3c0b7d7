"""Faults: VSO's commands killed (kill -9, as a closed laptop or an OOM killer does) in the middle
of their work. The next command must finish that work: nothing skipped, nothing left holding a slice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from vso_dagster.core.base.config import load_config
from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state
from vso_dagster.core.implementation.slice_teams import slice_team
from vso_dagster.lib.instance import use_project_instance

from .conftest import sensor_tick, user_env, venv_bin
from .test_journeys import branch_spec, nightly_row
from .test_sync import AUTH, edit_master


def start_vso(project, *args: str) -> subprocess.Popen:
    """The real `vso` executable in a process group of its own, as a terminal starts it."""
    env = user_env()
    return subprocess.Popen([venv_bin("vso"), "--project-root", str(project.root), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def kill_when(process: subprocess.Popen, ready, timeout_s: float = 180, sig: int = signal.SIGKILL) -> None:
    """SIGKILL (or `sig`) to the whole group as soon as `ready()` holds (polled; the process must
    still run), then waits for the process to end."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert process.poll() is None, "the command finished before the moment to kill it"
        assert time.monotonic() < deadline, "the moment to kill never came"
        time.sleep(0.02)
    os.killpg(process.pid, sig)
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


def test_a_decompose_killed_while_it_writes_slices_is_completed_by_the_next(todo_project, vso):
    from vso_dagster.core.decomposition.scaffold_project import init_project

    init_project(todo_project, "Todo")
    first = todo_project.slice_dir("slice-001-auth") / "spec.md"
    kill_when(start_vso(todo_project, "decompose"), first.exists)
    again = vso("decompose")
    assert again.exit_code == 0, again.output
    for slice_id in ("slice-001-auth", "slice-002-todos", "slice-003-reports"):
        assert (todo_project.slice_dir(slice_id) / "service/main.py").exists(), slice_id
    assert "| `slice-003-reports` | 1.0.0 |" in todo_project.master_spec.read_text()
    assert "Nothing changed" in vso("decompose").output


def test_a_master_left_without_its_generated_section_gets_it_back(committed, vso):
    """What a decompose killed after the slices but before the master's section leaves: the next
    decompose finds nothing stale in the slices, and still writes the section."""
    text = committed.master_spec.read_text()
    committed.master_spec.write_text(text.split("## Vertical Slices")[0].rstrip() + "\n")
    again = vso("decompose")
    assert again.exit_code == 0, again.output
    assert "| `slice-001-auth` | 1.0.0 | - | hetzner |" in committed.master_spec.read_text()
    assert "Nothing changed" in vso("decompose").output


def test_a_deleted_slice_directory_is_restored_by_an_instance_that_never_saw_the_plan(committed, vso):
    """The plan is current, but the Dagster instance is new (deleted, or a DAGSTER_HOME of its own):
    it has none of the plan's partitions, and decompose adds them before it writes the stale slice."""
    import shutil

    shutil.rmtree(committed.state_dir / "dagster", ignore_errors=True)  # the core decomposed it: no instance yet
    shutil.rmtree(committed.slice_dir("slice-002-todos"))
    done = vso("decompose")
    assert done.exit_code == 0, done.output
    assert (committed.slice_dir("slice-002-todos") / "spec.md").exists()
    assert "Nothing changed" not in done.output
    assert subprocess.run(["git", "-C", str(committed.root), "status", "--porcelain", "vertical-slices"],
                          capture_output=True, text=True).stdout == ""  # restored exactly as committed


def services_of(project, slice_id: str, environment: str) -> list[int]:
    from vso_dagster.core.base.process_group import processes_marked
    from vso_dagster.core.deployment.local import SERVICE_MARK, service_marker

    return processes_marked(SERVICE_MARK, service_marker(project, slice_id, environment))


@pytest.fixture
def no_stray_services(committed):
    """Whatever the test's outcome, no service of its project outlives it."""
    yield
    for environment in ("test", "production"):
        for pid in services_of(committed, AUTH, environment):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_deploy_killed_before_it_recorded_its_service_leaves_nothing_running(committed, vso, no_stray_services):
    """The service runs in a session of its own, so killing `vso deploy` does not stop it, and it
    was not recorded yet: destroy (and the next deploy) find it by the marker in its environment."""
    assert vso("orchestrate", "--slice-id", AUTH).exit_code == 0
    kill_when(start_vso(committed, "deploy", "--slice-id", AUTH, "--environment", "test"),
              lambda: services_of(committed, AUTH, "test"))
    assert services_of(committed, AUTH, "test"), "the killed deploy's service outlived it"
    deployed = vso("deploy", "--slice-id", AUTH, "--environment", "test")
    assert deployed.exit_code == 0, deployed.output
    assert services_of(committed, AUTH, "test") == [load_state(committed)["deployments"]["test"]["endpoints"][AUTH]
                                                    ["pid"]]  # the stray is gone, the new one serves
    assert vso("destroy", "--slice-id", AUTH, "--environment", "test").exit_code == 0
    kill_when(start_vso(committed, "deploy", "--slice-id", AUTH, "--environment", "test"),
              lambda: services_of(committed, AUTH, "test"))
    destroyed = vso("destroy", "--all", "--environment", "both")
    assert destroyed.exit_code == 0 and f"{AUTH} no longer serves test." in destroyed.output
    deadline = time.monotonic() + 15
    while services_of(committed, AUTH, "test") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert services_of(committed, AUTH, "test") == []


def test_an_orchestrate_killed_mid_run_does_not_hold_its_slice_from_the_wave_sensor(committed):
    """The killed run stays STARTED in Dagster; the implementation sensor must not take it for a
    run in flight (its `vso/process` names a process that is gone)."""
    use_project_instance(committed)
    with dg.DagsterInstance.get() as instance:
        def started() -> bool:
            return bool(instance.get_runs(dg.RunsFilter(job_name="vso_implement",
                                                        statuses=[dg.DagsterRunStatus.STARTED])))

        kill_when(start_vso(committed, "orchestrate", "--slice-id", AUTH), started)
        assert started()  # what a kill leaves: a run that never ends
        [request] = sensor_tick("implementation_waves", committed, instance).run_requests
        assert request.partition_key == AUTH


def running(pid: int) -> bool:
    """The process exists and is no zombie (one waiting for its parent to read how it ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_an_orchestrate_killed_while_its_team_works_takes_the_team_down_with_it(committed, vso):
    """`kill -9` of `vso orchestrate` runs none of its cleanup: the session's watchdog window sees
    its owner gone, keeps each agent's pane in the logs and closes the session, so no agent works
    on for nobody. The next orchestrate builds the slice."""
    from .test_tmux_team import STANDIN, sessions, write_config

    socket, session = f"vso-test-{uuid.uuid4().hex[:8]}", f"vso-{AUTH}"
    tmux = ["tmux", "-L", socket]
    agent = f'"{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}"'
    write_config(committed, socket, f'["env", "STANDIN_BEHAVIOR=hang", {agent}]')
    roles = slice_team(load_plan(committed).slice(AUTH), load_config(committed)).roles
    agents: list[int] = []

    def briefed() -> bool:  # every agent has its briefing and works on it (a hanging one, for ever)
        screens = [subprocess.run([*tmux, "capture-pane", "-p", "-t", f"={session}:{role}"], capture_output=True,
                                  text=True).stdout for role in roles]
        if not all("received message 1" in screen for screen in screens):
            return False
        panes = subprocess.run([*tmux, "list-panes", "-s", "-t", f"={session}", "-F", "#{pane_pid}"],
                               capture_output=True, text=True).stdout.split()
        for pid in panes:  # each pane's process, and the agent its runner started
            agents.extend([int(pid), *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())])
        return True

    try:
        kill_when(start_vso(committed, "orchestrate", "--slice-id", AUTH), briefed)
        deadline = time.monotonic() + 20
        while sessions(socket) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sessions(socket) == []
        assert len(agents) == 2 * len(roles) + 1  # the agents, their runners and the watchdog
        while [pid for pid in agents if running(pid)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [(pid, Path(f"/proc/{pid}/cmdline").read_bytes()) for pid in agents if running(pid)] == []
        logs = committed.logs_dir / AUTH
        assert all("received message 1" in (logs / f"{role}.log").read_text() for role in roles)

        write_config(committed, socket, f"[{agent}]")
        again = vso("orchestrate", "--slice-id", AUTH)
        assert again.exit_code == 0, again.output
        assert load_state(committed)["slices"][AUTH]["status"] == "implemented"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)

