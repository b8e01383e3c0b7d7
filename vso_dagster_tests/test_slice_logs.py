"""`vso logs`, the real executable: a team's panes live from tmux (followed until the session
closes), the logs a team left, and a deployed service's output with VSO's deployment log. The team
here is a stand-in: tmux windows named as a team's roles, running a process that prints lines (no
agent CLI is needed to show what a pane holds)."""

from __future__ import annotations

import subprocess
import time

import pytest

from vso_dagster.core.base.config import load_config
from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state
from vso_dagster.core.deployment.local import destroy_local
from vso_dagster.core.implementation.implement import implement_slice
from vso_dagster.core.implementation.team_watchdog import pane_history, save_pane_log
from vso_dagster.core.implementation.tmux_team import team_session

from .conftest import run_vso, user_env, venv_bin

AUTH = "slice-001-auth"
PRINTS = "for i in 1 2 3 4 5 6; do echo step $i; sleep 0.3; done; sleep 60"


@pytest.fixture
def standin_team(committed):
    """tmux windows on the project's socket, named as the slice's team and its roles would be."""
    tmux = ["tmux", "-L", load_config(committed).socket]
    session = team_session(AUTH)
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-n", "developer", "sh", "-c", PRINTS], check=True)
    subprocess.run([*tmux, "new-window", "-d", "-t", f"={session}", "-n", "tester", "sh", "-c",
                    "echo tester ready; sleep 60"], check=True)
    yield committed, tmux, session
    subprocess.run([*tmux, "kill-server"], capture_output=True)


def test_a_working_teams_pane_is_followed_live_until_its_session_closes(standin_team):
    project, tmux, session = standin_team
    follower = subprocess.Popen([venv_bin("vso"), "logs", "auth", "--role", "developer", "-f"], cwd=project.root,
                                env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in follower.stdout:
        seen.append(line.rstrip("\n"))
        if seen[-1] == "step 6":
            break
    # The team's run ends: its panes go, and so does the follower, having said so.
    subprocess.run([*tmux, "kill-session", "-t", f"={session}"], check=True)
    rest, _ = follower.communicate(timeout=30)
    assert follower.returncode == 0
    assert [line for line in seen if line.startswith("step")] == [f"step {i}" for i in range(1, 7)]
    assert rest.strip().endswith("(developer ended)")

    both = run_vso(project.root, "logs", "auth", check=True).stdout  # the session is gone: nothing live
    assert "has no team logs yet" in both


def test_the_logs_a_team_left_are_shown_by_role(standin_team):
    project, tmux, session = standin_team
    time.sleep(2.5)  # the developer has printed its six steps
    (project.logs_dir / AUTH).mkdir(parents=True)  # the team made it as it started
    for role in ("developer", "tester"):  # what the team's watchdog does as its session closes
        save_pane_log(project.logs_dir / AUTH, role, pane_history(tmux, session, role))
    subprocess.run([*tmux, "kill-session", "-t", f"={session}"], check=True)
    shown = run_vso(project.root, "logs", "1", check=True).stdout
    assert "== developer (6 lines) ==\nstep 1\n" in shown and "== tester (1 lines) ==\ntester ready" in shown
    wrong = run_vso(project.root, "logs", "auth", "--role", "architect")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (f"{AUTH}: no role architect in the log its last team left; roles: developer, "
                                    "tester")


def test_a_deployment_is_shown_and_followed_as_it_happens(committed):
    implement_slice(committed, load_plan(committed), AUTH)
    run_vso(committed.root, "deploy", "--slice-id", "auth", "--environment", "test", check=True)
    first = load_state(committed)["deployments"]["test"]["endpoints"][AUTH]["url"]
    try:
        shown = run_vso(committed.root, "logs", "auth", "--deploy", "--environment", "test", check=True).stdout
        # The service logs warnings and errors only (uvicorn --log-level warning): none yet.
        assert "== test service (0 lines) ==\n(nothing in test service yet)" in shown
        assert "== deployment" in shown and f"{AUTH} serves test at {first} (local)" in shown
        follower = subprocess.Popen([venv_bin("vso"), "logs", "auth", "--deploy", "-f"], cwd=committed.root,
                                    env=user_env(), stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(2)  # it has printed what there was, and follows
            # A redeploy, while someone watches.
            run_vso(committed.root, "deploy", "--slice-id", "auth", "--environment", "test", check=True)
            second = load_state(committed)["deployments"]["test"]["endpoints"][AUTH]["url"]
            for line in follower.stdout:
                if f"serves test at {second}" in line:
                    assert line.startswith("[deployment] ")
                    break
        finally:
            follower.kill()
            follower.wait()
    finally:
        destroy_local(committed, AUTH, "test")
