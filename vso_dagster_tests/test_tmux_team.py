"""Agent teams in real tmux (a private socket per test) with a STAND-IN agent: the happy path and
the faults the issue lists."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import libtmux
import pytest

from vso_dagster.core.base.budget import parse_budget
from vso_dagster.core.base.config import AgentSpec, Config, Limits, TeamSettings, load_config
from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state
from vso_dagster.core.base.worktrees import ensure_worktree, git
from vso_dagster.core.implementation.implement import implement_slice
from vso_dagster.core.implementation.slice_teams import slice_team
from vso_dagster.core.implementation.team_run import run_team
from vso_dagster.core.implementation.tmux_team import Team, TeamError

STANDIN = str(Path(__file__).with_name("standin_agent.py"))


def standin(behavior: str = "") -> AgentSpec:
    env = ["env", f"STANDIN_BEHAVIOR={behavior}"] if behavior else []
    return AgentSpec("custom", (*env, sys.executable, STANDIN, "{role}", "{slice_id}"), "interactive", r"^> ?$")


@pytest.fixture
def socket():
    name = f"vso-test-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)


def write_config(project, socket: str, agent_argv: str, extra: str = "") -> None:
    (project.state_dir / "config.toml").write_text(
        f'[agent]\nname = "custom"\nargv = {agent_argv}\nready_pattern = "^> ?$"\n'
        f'[tmux]\nsocket = "{socket}"\n[limits]\ntimeout_minutes = 1\n{extra}')


def sessions(socket: str) -> list[str]:
    out = subprocess.run(["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"], capture_output=True,
                         text=True)
    return out.stdout.split()


def test_a_team_of_four_builds_the_slice_and_the_session_closes(committed, socket):
    write_config(committed, socket, f'["{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}"]')
    done = implement_slice(committed, load_plan(committed), "slice-001-auth")
    assert done.agent == "custom" and done.tests.green, done.tests.summary()
    log = git(done.worktree.path, "log", "--format=%s", f"{done.worktree.base}..HEAD").splitlines()
    assert log == ["slice-001-auth: implement the service"]
    assert sessions(socket) == []
    logs = committed.logs_dir / "slice-001-auth"
    assert sorted(p.name for p in logs.iterdir()) == ["developer.log", "orchestrator.log", "tester.log",
                                                      "testrunner.log"]
    assert "developer: implemented and committed slice-001-auth" in (logs / "developer.log").read_text()
    assert any(e.startswith("developer (last lines of developer.log):") and "implemented and committed" in e
               for e in done.team.events)
    assert "You are the **tester**" in (committed.state_dir / "briefings/slice-001-auth/tester.md").read_text()
    assert load_state(committed)["slices"]["slice-001-auth"]["status"] == "implemented"


def test_a_done_marker_without_passing_tests_is_not_done(committed, socket):
    write_config(committed, socket, f'["env", "STANDIN_BEHAVIOR=lazy", "{sys.executable}", "{STANDIN}", '
                                    f'"{{role}}", "{{slice_id}}"]')
    done = implement_slice(committed, load_plan(committed), "slice-001-auth")
    assert not done.tests.green and done.tests.failed > 0
    assert load_state(committed)["slices"]["slice-001-auth"]["status"] == "draft"


def team_for(committed, socket, agent: AgentSpec, limits: Limits, slice_id="slice-001-auth"):
    plan = load_plan(committed)
    s = plan.slice(slice_id)
    worktree = ensure_worktree(committed, slice_id, "1.0.0")
    config = Config(agent=agent, team=TeamSettings(roles=("orchestrator", "developer")), limits=limits, socket=socket)
    return s, worktree, config


def test_an_agent_that_crashes_at_start_is_restarted_then_the_run_fails(committed, socket):
    s, worktree, config = team_for(committed, socket, standin("crash"), Limits(timeout_s=30, max_restarts=2))
    with pytest.raises(TeamError, match="the agent exited 3 times; giving up .*crashing at start"):
        run_team(committed, s, worktree, config)
    assert sessions(socket) == []


def test_an_agent_that_crashes_once_at_start_is_restarted_and_the_slice_is_built(committed, socket, vso):
    write_config(committed, socket, f'["env", "STANDIN_BEHAVIOR=crash-once", "{sys.executable}", "{STANDIN}", '
                                    f'"{{role}}", "{{slice_id}}"]', '[team]\nsize = "small"\n')
    result = vso("orchestrate", "--slice-id", "slice-001-auth", "--verbose")
    assert result.exit_code == 0, result.output
    for role in ("orchestrator", "developer"):
        assert f"{role}: agent restarted (1/2)" in result.output
    assert load_state(committed)["slices"]["slice-001-auth"]["status"] == "implemented"
    assert sessions(socket) == []


def test_a_hanging_agent_hits_the_timeout_and_the_session_is_gone(committed, socket):
    s, worktree, config = team_for(committed, socket, standin("hang"), Limits(timeout_s=2, idle_s=60))
    started = time.monotonic()
    with pytest.raises(TeamError, match="timed out after 2s without the done marker"):
        run_team(committed, s, worktree, config)
    assert time.monotonic() - started < 20
    assert sessions(socket) == []


def test_a_team_over_its_minutes_budget_is_stopped_with_the_key_to_raise(committed, socket):
    s, worktree, config = team_for(committed, socket, standin("hang"), Limits(timeout_s=60, idle_s=60))
    config = replace(config, budget=parse_budget({"max_minutes": 0.02}))
    with pytest.raises(TeamError, match=r"stopped over budget: spent 0\.0\d minutes of \[agent\] max_minutes = 0\.02"):
        run_team(committed, s, worktree, config)
    assert sessions(socket) == []
    assert load_state(committed)["slices"]["slice-001-auth"]["agent_spend"]["minutes"] >= 0.02


def test_an_idle_team_is_nudged_then_failed(committed, socket):
    s, worktree, config = team_for(committed, socket, standin("hang"), Limits(timeout_s=30, idle_s=0.6))
    with pytest.raises(TeamError, match="no progress for 1s after a nudge"):
        run_team(committed, s, worktree, config)
    log = (committed.logs_dir / "slice-001-auth/developer.log").read_text()
    assert log.count("VSO: no progress seen for a while") == 1


def test_a_killed_tmux_server_fails_the_run_with_the_reason(committed, socket):
    s, worktree, config = team_for(committed, socket, standin("hang"), Limits(timeout_s=30, idle_s=60))
    killer = threading.Timer(1.5, lambda: subprocess.run(["tmux", "-L", socket, "kill-server"]))
    killer.start()
    try:
        with pytest.raises(TeamError, match="is gone"):
            run_team(committed, s, worktree, config)
    finally:
        killer.cancel()


def test_a_look_at_a_session_whose_server_died_since_the_last_look_says_it_is_gone(tmp_path, socket):
    """The test above, without its race: the server dies between the look that found the session and
    the next read of a pane. That read says the session is gone, not tmux's "no server running"."""
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "vso-slice-001-auth", "-n", "developer", "cat"],
                   check=True)
    team = Team(libtmux.Server(socket_name=socket), "slice-001-auth", tmp_path, standin(), Limits(), tmp_path, tmp_path)
    assert team.alive() and isinstance(team.screen("developer"), str)
    subprocess.run(["tmux", "-L", socket, "kill-server"], check=True)
    with pytest.raises(TeamError, match="the tmux session vso-slice-001-auth is gone"):
        team.screen("developer")


def test_two_slices_at_once_do_not_cross_talk(committed, socket):
    jobs = [team_for(committed, socket, standin(), Limits(timeout_s=60), sid)
            for sid in ("slice-001-auth", "slice-003-reports")]
    errors: list[Exception] = []

    def run(job):
        try:
            run_team(committed, *job)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert errors == []
    for s, worktree, _ in jobs:
        changed = git(worktree.path, "diff", "--name-only", f"{worktree.base}..HEAD").splitlines()
        assert changed == [f"vertical-slices/{s.slice_id}/service/main.py"]
        assert s.slice_id in (worktree.path / ".vso-done.md").read_text()


def test_a_message_typed_while_the_agent_is_busy_arrives_exactly_once(committed, socket, tmp_path):
    agent = replace(standin("busy"), argv=(sys.executable, STANDIN, "tester", "slice-001-auth"))
    team = Team(libtmux.Server(socket_name=socket), "slice-001-auth", tmp_path, agent, Limits(),
                tmp_path / "logs", tmp_path / "exits")
    team.start(("tester",), lambda role: list(agent.argv))
    try:
        team.wait_ready("tester")
        first = team.deliver("tester", "first message")
        second = team.deliver("tester", "second message, typed while the agent sleeps")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and f"received message 2 ({second})" not in team.screen("tester"):
            time.sleep(0.05)
        screen = team.screen("tester")
        assert screen.count(f"received message 1 ({first})") == 1
        assert screen.count(f"received message 2 ({second})") == 1
        assert "received message 3" not in screen
    finally:
        team.stop()


def test_names_with_shell_metacharacters_reach_no_shell(tmp_path, socket):
    probe = tmp_path / "argv.txt"
    name = "s$(touch PWNED);touch PWNED2"
    agent = AgentSpec("custom", (sys.executable, "-c", "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text("
                                 "repr(sys.argv[2:])); input()", str(probe), "{slice_id}"), "interactive", None)
    team = Team(libtmux.Server(socket_name=socket), "metachar-test", tmp_path, agent, Limits(),
                tmp_path / "logs", tmp_path / "exits")
    team.start(("developer",), lambda role: [a.replace("{slice_id}", name) for a in agent.argv])
    try:
        deadline = time.monotonic() + 10
        while not probe.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert probe.read_text() == repr([name])
        assert not list(tmp_path.glob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))
    finally:
        team.stop()


def test_orchestrate_refuses_a_second_team_on_the_same_slice(committed, socket):
    s, worktree, config = team_for(committed, socket, standin("hang"), Limits(timeout_s=30, idle_s=60))
    server = libtmux.Server(socket_name=socket)
    server.cmd("new-session", "-d", "-s", "vso-slice-001-auth", "sleep", "60")
    with pytest.raises(VSOError, match="already runs a team"):
        run_team(committed, s, worktree, config)


def test_stop_closes_a_running_team(committed, socket, vso):
    write_config(committed, socket, f'["{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}"]')
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "vso-slice-001-auth", "sleep", "60"], check=True)
    assert vso("stop", "slice-001-auth").exit_code == 0
    assert sessions(socket) == []
    assert "No team is running" in vso("stop", "--slice-id", "slice-001-auth").output


def test_batch_agents_get_the_briefing_file_and_exit_when_done(committed, socket):
    batch = AgentSpec("custom", (sys.executable, STANDIN, "{role}", "{slice_id}", "{briefing}"), "batch", None)
    s, worktree, config = team_for(committed, socket, batch, Limits(timeout_s=30, max_restarts=0))
    events = run_team(committed, s, worktree, config).events
    assert "slice-001-auth" in (worktree.path / ".vso-done.md").read_text()
    assert not any("restarted" in e for e in events)


def test_batch_agents_that_all_exit_without_the_marker_fail_the_run(committed, socket):
    batch = AgentSpec("custom", (sys.executable, STANDIN, "tester", "{slice_id}", "{briefing}"), "batch", None)
    s, worktree, config = team_for(committed, socket, batch, Limits(timeout_s=30, max_restarts=0))
    with pytest.raises(TeamError, match="every agent exited without writing the done marker"):
        run_team(committed, s, worktree, config)
    # A failed run counts in what the slice's teams spent (this agent reports no tokens).
    spent = load_state(committed)["slices"]["slice-001-auth"]["agent_spend"]
    assert spent["runs"] == 1 and spent["tokens_in"] == 0 and spent["minutes"] > 0


def test_a_usage_limit_pauses_then_the_agent_is_told_to_retry(committed, socket):
    s, worktree, config = team_for(committed, socket, standin("limited"),
                                   Limits(timeout_s=30, usage_limit_wait_s=0.5))
    events = run_team(committed, s, worktree, config).events
    assert any("developer: usage limit reported; pausing" in e for e in events)
    assert "slice-001-auth" in (worktree.path / ".vso-done.md").read_text()


CANCELLED_RUN = """
import sys
from vso_dagster.core.base.budget import parse_budget
from vso_dagster.core.base.config import AgentSpec, Config, Limits, TeamSettings, load_config
from vso_dagster.core.base.plan import load_plan

from vso_dagster.core.base.project import Project
from vso_dagster.core.implementation.team_run import run_team
from vso_dagster.core.base.worktrees import ensure_worktree
project, socket, standin = Project.at(sys.argv[1]), sys.argv[2], sys.argv[3]
agent = AgentSpec("custom", ("env", "STANDIN_BEHAVIOR=hang", sys.executable, standin, "{role}", "{slice_id}"),
                  "interactive", r"^> ?$")
config = Config(agent=agent, team=TeamSettings(roles=("developer",)), limits=Limits(timeout_s=120, idle_s=120),
                socket=socket)
run_team(project, load_plan(project).slice("slice-001-auth"),
         ensure_worktree(project, "slice-001-auth", "1.0.0"), config)
"""


def test_a_cancelled_run_closes_the_team_session(committed, socket):
    """Cancelling a run (Dagster interrupts the step; here, SIGINT) still closes the tmux session."""
    proc = subprocess.Popen([sys.executable, "-c", CANCELLED_RUN, str(committed.root), socket, STANDIN])
    try:
        deadline = time.monotonic() + 30
        while sessions(socket) != ["vso-slice-001-auth"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sessions(socket) == ["vso-slice-001-auth"]
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) != 0
    finally:
        proc.kill()
    assert sessions(socket) == []
    assert (committed.logs_dir / "slice-001-auth" / "developer.log").exists()


def test_two_projects_with_the_same_slice_never_touch_each_others_team(tmp_path, monkeypatch):
    """Each project's teams live on a tmux socket of its own: `vso stop` in one leaves the other's
    session (what a team runs in) alone."""
    from click.testing import CliRunner

    from vso_dagster.cli.main import cli
    from vso_dagster.core.base.config import load_config
    from vso_dagster.core.base.project import Project
    from vso_dagster.core.decomposition.scaffold_project import init_project

    from .conftest import TODO_SPEC, decompose

    monkeypatch.delenv("VSO_PROJECT_ROOT", raising=False)
    projects = []
    for name in ("a", "b"):
        project = Project.at(tmp_path / name / "proj")
        project.root.mkdir(parents=True)
        project.master_spec.write_text(TODO_SPEC)
        init_project(project, "Todo")
        decompose(project)
        projects.append(project)
    sockets = [load_config(p).socket for p in projects]
    assert sockets[0] != sockets[1]
    try:
        for socket_name in sockets:
            subprocess.run(["tmux", "-L", socket_name, "new-session", "-d", "-s", "vso-slice-001-auth", "sleep", "120"],
                           check=True)
        stop_b = CliRunner().invoke(cli, ["--project-root", str(projects[1].root), "stop", "slice-001-auth"])
        assert stop_b.exit_code == 0, stop_b.output
        assert sessions(sockets[0]) == ["vso-slice-001-auth"] and sessions(sockets[1]) == []
    finally:
        for socket_name in sockets:
            subprocess.run(["tmux", "-L", socket_name, "kill-server"], capture_output=True)


def test_a_team_left_by_a_killed_vso_is_taken_over_and_one_of_someone_else_is_not(committed, socket):
    """A `vso orchestrate` killed mid-team leaves its session; the next orchestrate closes it (its
    owner, named in the session, is gone) and builds. A session VSO did not start is left alone."""
    write_config(committed, socket, f'["{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}"]')
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "vso-slice-001-auth", "sleep", "120"], check=True)
    subprocess.run(["tmux", "-L", socket, "set-option", "-t", "=vso-slice-001-auth:", "@vso_process", f"{dead}:1"],
                   check=True)
    done = implement_slice(committed, load_plan(committed), "slice-001-auth")
    assert done.tests.green and sessions(socket) == []
    assert "closed the team a killed VSO process had left running" in done.team.events

    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "vso-slice-002-todos", "sleep", "120"], check=True)
    with pytest.raises(VSOError, match="already runs a team for this slice"):
        implement_slice(committed, load_plan(committed), "slice-002-todos")
    assert sessions(socket) == ["vso-slice-002-todos"]


def test_a_pane_log_planted_as_a_symlink_is_replaced_not_written_through(committed, socket, tmp_path):
    write_config(committed, socket, f'["{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}"]')
    outside = tmp_path / "outside.txt"
    outside.write_text("not VSO's\n")
    logs = committed.logs_dir / "slice-001-auth"
    logs.mkdir(parents=True)
    (logs / "developer.log").symlink_to(outside)
    assert implement_slice(committed, load_plan(committed), "slice-001-auth").tests.green
    assert outside.read_text() == "not VSO's\n"
    assert not (logs / "developer.log").is_symlink() and (logs / "developer.log").stat().st_size > 0


def test_agents_get_no_deploy_token_from_vso_or_from_their_tmux_server(committed, socket, tmp_path, monkeypatch):
    """An agent runs commands of its own choosing: VSO's deploy tokens reach neither its
    environment nor the tmux server's (`tmux show-environment -g`); the model key it needs does."""
    tokens = {"HCLOUD_TOKEN": "canary-hc-41f2", "MODAL_TOKEN_ID": "canary-mi-5b1c",
              "MODAL_TOKEN_SECRET": "canary-ms-9d0e"}
    for name, value in {**tokens, "ANTHROPIC_API_KEY": "canary-ak-77aa"}.items():
        monkeypatch.setenv(name, value)
    dump = tmp_path / "env"
    monkeypatch.setenv("STANDIN_ENV_DUMP", str(dump))
    write_config(committed, socket, f'["{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}"]')
    assert implement_slice(committed, load_plan(committed), "slice-001-auth").tests.green
    seen = [json.loads(path.read_text()) for path in sorted(tmp_path.glob("env.*"))]
    team = slice_team(load_plan(committed).slice("slice-001-auth"), load_config(committed))
    assert len(seen) == len(team.roles)
    for agent in seen:
        assert agent["env"]["ANTHROPIC_API_KEY"] == "canary-ak-77aa"
        assert not set(tokens) & set(agent["env"])
        assert not [value for value in tokens.values() if value in agent["tmux_global"]]


# STAND-INs for the two scripts of a Tmux-Orchestrator checkout, with their contracts: the first types
# a message into a window and presses Enter, the second schedules a check-in. Each records its call.
STANDIN_SEND_CLAUDE_MESSAGE = """#!/bin/bash
# STAND-IN for Tmux-Orchestrator's send-claude-message.sh <session:window> <message>
set -euo pipefail
TARGET="$1"; shift; MESSAGE="$*"
printf '%s %s\\n' "$TARGET" "${#MESSAGE}" >> "$(dirname "$0")/calls.log"
tmux send-keys -t "$TARGET" "$MESSAGE"
sleep 0.5
tmux send-keys -t "$TARGET" Enter
"""
STANDIN_SCHEDULE_WITH_NOTE = """#!/bin/bash
# STAND-IN for Tmux-Orchestrator's schedule_with_note.sh <minutes> <note> [target]
printf 'scheduled %s %s\\n' "$1" "${3:-}" >> "$(dirname "$0")/calls.log"
"""


def test_a_tmux_orchestrator_checkout_carries_the_teams_messages(committed, socket, tmp_path):
    """With [agent] tmux_orchestrator, the checkout's send-claude-message.sh delivers each briefing
    (typed into the pane on the team's own tmux server), VSO still checks each arrived, and keeps its
    worktree, done marker and unit-test rules; the orchestrator is told how to schedule check-ins."""
    checkout = tmp_path / "Tmux-Orchestrator"
    checkout.mkdir()
    for name, text in (("send-claude-message.sh", STANDIN_SEND_CLAUDE_MESSAGE),
                       ("schedule_with_note.sh", STANDIN_SCHEDULE_WITH_NOTE)):
        (checkout / name).write_text(text)
        (checkout / name).chmod(0o755)
    (committed.state_dir / "config.toml").write_text(
        f'[agent]\nname = "custom"\nargv = ["{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}"]\n'
        f'ready_pattern = "^> ?$"\ntmux_orchestrator = "{checkout}"\n[team]\nsize = "small"\n'
        f'[tmux]\nsocket = "{socket}"\n[limits]\ntimeout_minutes = 1\n')
    done = implement_slice(committed, load_plan(committed), "slice-001-auth")
    assert done.tests.green, done.tests.summary()
    calls = (checkout / "calls.log").read_text().splitlines()
    assert sorted(call.split()[0] for call in calls) == ["vso-slice-001-auth:developer",
                                                         "vso-slice-001-auth:orchestrator"]
    assert [e for e in done.team.events if re.match(r"developer: message \w{12} delivered", e)]
    briefing = (committed.state_dir / "briefings/slice-001-auth/orchestrator.md").read_text()
    assert f"{checkout}/schedule_with_note.sh MINUTES" in briefing
    assert f"{checkout}/send-claude-message.sh vso-slice-001-auth:ROLE" in briefing
    assert "schedule_with_note" not in (committed.state_dir / "briefings/slice-001-auth/developer.md").read_text()
    assert sessions(socket) == []
