"""The model API fails a real agent CLI (a STAND-IN model on loopback answers as the real APIs do when
they fail), and the team that CLI works in does what each fault calls for: a refused key fails at
once, naming the agent and the cause; a busy API is retried; a spent quota pauses the team; a hung
model is nudged and then failed; a crashed CLI is restarted. A team of one developer in batch mode,
run by the team runner itself: the pane and the CLI are what is under test here, and
test_agent_clis.py covers the way in through `vso orchestrate`."""

from __future__ import annotations

import os
import re
import signal
import threading
from pathlib import Path

import pytest

from vso_dagster.core.base.config import load_config
from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state
from vso_dagster.core.base.worktrees import ensure_worktree
from vso_dagster.core.implementation.scaffold_agent import implement
from vso_dagster.core.implementation.team_run import run_team, stop_team, tmux_server
from vso_dagster.core.implementation.tmux_team import TeamError, team_session

from .conftest import aider_against, claude_against, codex_against, team_of
from .standin_model.anthropic_api import StandinAnthropic
from .standin_model.openai_chat import StandinChat
from .standin_model.openai_responses import StandinOpenAI

AUTH = "slice-001-auth"
CLIS = [pytest.param("claude", StandinAnthropic, claude_against, id="claude"),
        pytest.param("codex", StandinOpenAI, codex_against, id="codex"),
        pytest.param("aider", StandinChat, aider_against, id="aider")]
# How many failed requests a CLI retries before it says anything: Aider's OpenAI client retries a 429
# twice by itself, silently (a fault it mends costs nothing worth a note).
UNSAID = {"claude": 0, "codex": 0, "aider": 2}


def said(agent: str, fault: str) -> tuple[str, ...]:
    """`fault`, as many times in a row as `agent` needs to say it once."""
    return (fault,) * (UNSAID[agent] + 1)


def developer_alone(agent, standin, point_at, project, tmp_path, monkeypatch, limit_keys="", during=None, **faults):
    """The slice's team, one developer running the real CLI, against a stand-in model scripted with
    `faults`. `during(model)` runs beside the team. Returns (the model, the team's run or its error)."""
    home = team_of(agent, project, tmp_path, monkeypatch, limit_keys=limit_keys, roles=("developer",))
    plan = load_plan(project)
    worktree = ensure_worktree(project, AUTH, "1.0.0")
    with standin(code_for=lambda slice_id: implement(plan.slice(slice_id)), **faults) as model:
        point_at(model, home, monkeypatch)
        if during:
            threading.Thread(target=during, args=(model,), daemon=True).start()
        try:
            return model, run_team(project, plan.slice(AUTH), worktree, load_config(project))
        except TeamError as error:
            return model, error


def built(project) -> bool:
    marker = project.state_dir / "worktrees" / AUTH / ".vso-done.md"
    return marker.exists() and "implemented by the stand-in model" in marker.read_text()


@pytest.mark.parametrize("agent, standin, point_at", CLIS)
def test_a_refused_key_fails_the_team_at_once_naming_the_agent_and_the_cause(agent, standin, point_at, committed,
                                                                           tmp_path, monkeypatch):
    model, error = developer_alone(agent, standin, point_at, committed, tmp_path, monkeypatch, faults=("auth",),
                                   always=True)
    assert isinstance(error, TeamError), error
    assert re.match(rf"developer: {agent} stopped: its model API refused the key \(.+\); set the right API key",
                    str(error)), error
    # At once: no restart, and not the retries of the CLI's own (Claude Code's run to 10, over minutes).
    assert load_state(committed)["slices"][AUTH]["agent_spend"]["restarts"] == 0
    assert len(model.requests) <= 6, len(model.requests)
    assert not built(committed)


@pytest.mark.parametrize("agent, standin, point_at", CLIS)
def test_a_busy_api_is_retried_and_a_spent_quota_paused_for_and_the_slice_still_built(agent, standin, point_at,
                                                                                      committed, tmp_path,
                                                                                      monkeypatch):
    """A rate limit and an overload, then the account's quota spent for a while, then the model
    answers again."""
    faults = (*said(agent, "rate_limit"), "overloaded", *said(agent, "usage_limit"))
    model, run = developer_alone(agent, standin, point_at, committed, tmp_path, monkeypatch,
                                 "usage_limit_wait_minutes = 0.02\n", faults=faults)
    assert not isinstance(run, Exception), run
    assert built(committed)
    busy = [e for e in run.events if "developer: its model API is busy" in e]
    assert busy and re.search(r"429|RateLimitError", busy[0]), run.events
    assert any(e.startswith("developer: usage limit reported; pausing 1s") for e in run.events), run.events
    # Each retries a busy API itself but Codex, which gives up on a rate limit; Claude Code and Codex
    # give up on a spent quota (Claude Code with exit status 0, its report saying it failed). VSO
    # restarts a CLI that gave up; Aider retries all of it.
    assert run.restarts == {"claude": 1, "codex": 2, "aider": 0}[agent], run.events


def test_a_hung_model_is_nudged_then_the_team_fails(committed, tmp_path, monkeypatch):
    model, error = developer_alone("claude", StandinAnthropic, claude_against, committed, tmp_path, monkeypatch,
                                   "idle_minutes = 0.05\n", faults=("hang",), always=True)
    assert isinstance(error, TeamError) and "no progress for 3s after a nudge; giving up" in str(error), error
    assert len(model.requests) == 1 and not built(committed)


def test_a_cli_killed_mid_run_is_restarted_and_the_slice_built(committed, tmp_path, monkeypatch):
    """Claude Code waits on a model that never answers; killed then (SIGKILL, as by the OOM killer),
    it is started again in its pane, runs its briefing anew, and builds the slice."""
    def kill_the_cli(model):
        while not model.requests:
            threading.Event().wait(0.05)
        server = tmux_server(load_config(committed))
        pane = server.cmd("display-message", "-p", "-t", f"={team_session(AUTH)}:developer", "#{pane_pid}").stdout
        runner = pane[0].strip()  # the pane runs the CLI under VSO's runner, which outlives it
        cli = Path(f"/proc/{runner}/task/{runner}/children").read_text().split()
        os.kill(int(cli[0]), signal.SIGKILL)

    model, run = developer_alone("claude", StandinAnthropic, claude_against, committed, tmp_path, monkeypatch,
                                 during=kill_the_cli, faults=("hang",))
    assert not isinstance(run, Exception), run
    assert run.restarts == 1 and "developer: agent restarted (1/2)" in run.events
    assert built(committed)


@pytest.fixture(autouse=True)
def _no_team_left(committed):
    yield
    stop_team(load_config(committed), AUTH)
