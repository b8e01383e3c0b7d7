"""The real agent CLIs implement slices in a VSO team, in tmux, against a STAND-IN model on loopback
that plays the developer through each CLI's own tools (standin_model/developer.py)."""

from __future__ import annotations

import json
import re

import dagster as dg
import pytest

from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state
from vso_dagster.core.implementation.scaffold_agent import implement

from .conftest import aider_against, claude_against, codex_against, run_vso, team_of
from .standin_model.anthropic_api import StandinAnthropic
from .standin_model.openai_chat import StandinChat
from .standin_model.openai_responses import StandinOpenAI

AUTH = "slice-001-auth"


def implementation_metadata(project) -> dict:
    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("slice_implementation"))
        return event.asset_materialization.metadata


def implemented_by(agent, standin, point_at, project, vso, tmp_path, monkeypatch, limit_keys: str = "",
                   mode: str = "batch"):
    """`vso orchestrate` of one slice with the real CLI in a team: in batch mode each pane's one-shot
    run is pointed at its briefing, in interactive mode the briefing is pasted into the CLI's TUI.
    The stand-in model writes the service with the CLI's own tools, runs the unit tests through the
    CLI's shell tool (Aider runs them itself), and writes the done marker. Returns the stand-in model."""
    home = team_of(agent, project, tmp_path, monkeypatch, limit_keys=limit_keys, mode=mode)
    plan = load_plan(project)
    with standin(code_for=lambda slice_id: implement(plan.slice(slice_id))) as model:
        point_at(model, home, monkeypatch)
        result = vso("orchestrate", "--slice-id", AUTH)
    assert result.exit_code == 0, (result.output, model.requests[-1]["body"])
    # VSO's own unit-test check is green on what the CLI wrote with its own tools.
    assert load_state(project)["slices"][AUTH]["status"] == "implemented"
    worktree = project.state_dir / "worktrees" / AUTH
    assert (worktree / "vertical-slices" / AUTH / "service" / "main.py").read_text() == implement(plan.slice(AUTH))
    assert "implemented by the stand-in model" in (worktree / ".vso-done.md").read_text()
    # The CLI's config home was the team's own, and is gone with the team.
    assert not (project.state_dir / "cache" / "agent-homes" / AUTH).exists()
    return model


def test_claude_code_in_batch_mode_implements_a_slice_and_what_it_spent_is_recorded(committed, vso, tmp_path,
                                                                                  monkeypatch):
    # Claude Code prints what it read (the briefing) into its pane: words in the work, never the agent's
    # own, so they must not pause the team (a spec that mentions a "rate limit" would, else).
    model = implemented_by("claude", StandinAnthropic, claude_against, committed, vso, tmp_path, monkeypatch,
                           'usage_limit_patterns = ["# Briefing:"]\nusage_limit_wait_minutes = 0.1\n')
    assert "team started" in (log := (committed.logs_dir / "implementation.log").read_text())
    assert "usage limit reported" not in log
    assert [r for r in model.tool_results() if " passed" in r], "the unit tests never ran through Claude Code"
    # The stand-in bills 100 tokens in and 20 out per answer, as the real API reports usage; Claude
    # Code's own report of it is the implementation's metadata in Dagster…
    meta = implementation_metadata(committed)
    answers = len(model.prompts())
    assert meta["agent_tokens_in"].value == 100 * answers and meta["agent_tokens_out"].value == 20 * answers
    assert meta["agent_cost_usd"].value > 0 and meta["agent_turns"].value >= 5
    assert meta["agent_restarts"].value == 0
    # …and the slice's running total in state.json, which `vso status` shows.
    spent = json.loads(vso("status", "--json").output)["slices"][AUTH]["agent_spend"]
    assert spent["tokens_in"] == meta["agent_tokens_in"].value and spent["runs"] == 1
    listed = run_vso(committed.root, "status", extra_env={"COLUMNS": "250"}, check=True).stdout
    assert f"{120 * answers} tokens, 1 runs" in listed


def test_codex_in_batch_mode_implements_a_slice_and_its_tokens_are_recorded_without_a_cost(committed, vso, tmp_path,
                                                                                          monkeypatch):
    model = implemented_by("codex", StandinOpenAI, codex_against, committed, vso, tmp_path, monkeypatch)
    assert [r for r in model.tool_results() if " passed" in r], "the unit tests never ran through Codex"
    meta = implementation_metadata(committed)
    answers = len(model.requests)
    assert meta["agent_tokens_in"].value == 100 * answers and meta["agent_tokens_out"].value == 20 * answers
    assert "agent_cost_usd" not in meta  # Codex reports no cost: none is made up


def test_aider_in_batch_mode_implements_a_slice_and_runs_the_unit_tests_itself(committed, vso, tmp_path,
                                                                               monkeypatch):
    model = implemented_by("aider", StandinChat, aider_against, committed, vso, tmp_path, monkeypatch)
    # The developer's reply held the implementation and the marker; Aider wrote them, ran the unit
    # tests (--test-cmd, --auto-test), found them green and asked the model nothing more.
    # (Aider's other requests are its own: a commit message, a summary of the chat.)
    briefed = [p for p in model.prompts() if p.startswith("# Briefing: ")]
    assert len(briefed) == 2 and not [p for p in model.prompts() if " failed" in p or "FAILED" in p]
    log = (committed.logs_dir / AUTH / "developer.log").read_text()
    assert "Applied edit to vertical-slices/slice-001-auth/service/main.py" in log
    meta = implementation_metadata(committed)
    assert meta["agent_tokens_in"].value > 0 and meta["agent_tokens_out"].value > 0  # as Aider counted them
    assert "agent_cost_usd" not in meta  # the stand-in model has no price Aider knows


def test_aider_without_a_git_identity_is_refused_before_it_writes_one_into_the_project(committed, vso, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.gitconfig: no user.name, no user.email
    (committed.state_dir / "config.toml").write_text('[agent]\nname = "aider"\n')
    config_before = (committed.root / ".git" / "config").read_text()
    result = vso("orchestrate", "--slice-id", AUTH)
    assert result.exit_code == 1
    assert "aider commits as the git user, and user.name and user.email are not set: run `git config --global" \
        in result.output
    assert (committed.root / ".git" / "config").read_text() == config_before


def test_a_run_budget_stops_a_claude_team_at_work_and_starts_no_further_slice(committed, vso, tmp_path,
                                                                             monkeypatch):
    """The team of the first slice is held to the run's budget while it works (Claude Code reports each
    message's usage as it comes); once it is spent, the second slice's team never starts."""
    home = team_of("claude", committed, tmp_path, monkeypatch, "run_max_tokens = 200\n")
    plan = load_plan(committed)
    with StandinAnthropic(code_for=lambda slice_id: implement(plan.slice(slice_id))) as model:
        claude_against(model, home, monkeypatch)
        result = vso("orchestrate", "--slice-id", AUTH, "--slice-id", "slice-003-reports", "--concurrency", "1",
                     "--json")
        asked = len(model.prompts())
    assert result.exit_code == 1, (result.output, result.stderr)
    outcomes = {o["slice_id"]: o for o in json.loads(result.stdout)}
    stopped, never = outcomes[AUTH], outcomes["slice-003-reports"]
    assert stopped["result"] == "failed"
    assert "stopped over budget: spent" in stopped["detail"] and "[agent] run_max_tokens = 200 tokens" in \
        stopped["detail"], stopped
    assert never["result"] == "failed" and never["detail"].startswith("not started: this run's agent budget is spent")
    # Stopped before its work was done: no marker, no green slice, and far fewer answers than a whole
    # run of the two roles takes (8); only the first slice's team ever asked the model.
    worktree = committed.state_dir / "worktrees" / AUTH
    assert not (worktree / ".vso-done.md").exists() and asked < 8
    assert load_state(committed)["slices"][AUTH]["status"] != "implemented"
    assert "agent_spend" not in load_state(committed)["slices"]["slice-003-reports"]
    assert not (committed.state_dir / "worktrees" / "slice-003-reports").exists()
    # The reason names the key to raise, as written in config.toml (no "[agent]" lost to markup).
    assert "failed stopped over budget" in result.stderr and "of [agent] run_max_tokens" in result.stderr


@pytest.mark.parametrize("agent, standin, point_at", [("claude", StandinAnthropic, claude_against),
                                                      ("codex", StandinOpenAI, codex_against),
                                                      ("aider", StandinChat, aider_against)])
def test_each_cli_in_its_tui_implements_a_slice_with_no_question_left_for_a_human(agent, standin, point_at, committed,
                                                                                vso, tmp_path, monkeypatch):
    """The real TUI in each team pane: VSO sees its prompt, pastes the briefing, sees it delivered, and
    the stand-in model does the work through the CLI's own tools. First-run questions (onboarding,
    trusting the worktree, using the API key from the environment) never show: the team's own config
    home answers them, and the user's own config is never written."""
    home = tmp_path / "agent-home"
    user_codex = home / ".codex" / "config.toml"
    model = implemented_by(agent, standin, point_at, committed, vso, tmp_path, monkeypatch, mode="interactive")
    log = (committed.logs_dir / "implementation.log").read_text()
    assert re.search(r"developer: message \w{12} delivered", log) and "orchestrator: message" in log
    developer = (committed.logs_dir / AUTH / "developer.log").read_text()
    assert "[vso message " in developer  # the briefing, pasted into the TUI as one message
    if agent != "aider":
        assert [r for r in model.tool_results() if " passed" in r], f"the unit tests never ran through {agent}"
    # The user's own config: Claude Code would keep ~/.claude.json, Codex would add the worktree's trust
    # to its config.toml.
    assert not (home / ".claude.json").exists() and not (home / ".claude").exists()
    if agent == "codex":
        assert "trust_level" not in user_codex.read_text()
    # What the TUI spent, from its session files (Claude Code's, Codex's) or its pane (Aider's): the
    # stand-in bills 100 tokens in and 20 out per answer.
    meta = implementation_metadata(committed)
    assert meta["agent_tokens_in"].value > 0 and meta["agent_tokens_out"].value > 0
    if agent != "aider":  # Aider counts the tokens itself
        assert meta["agent_tokens_in"].value <= 100 * len(model.requests)
        assert meta["agent_tokens_in"].value == 5 * meta["agent_tokens_out"].value


@pytest.fixture(autouse=True)
def _no_team_left(committed):
    yield
    from vso_dagster.core.base.config import load_config
    from vso_dagster.core.implementation.team_run import stop_team

    stop_team(load_config(committed), AUTH)
