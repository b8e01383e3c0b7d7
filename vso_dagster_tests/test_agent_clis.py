"""The real agent CLIs implement slices in a VSO team, in tmux, against a STAND-IN model on loopback
that plays the developer through each CLI's own tools (standin_model/developer.py)."""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest

from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state
from vso_dagster.core.implementation.scaffold_agent import implement

from .conftest import claude_against, codex_against, real_agent_cli, run_vso
from .standin_model.anthropic_api import StandinAnthropic
from .standin_model.openai_responses import StandinOpenAI

AUTH = "slice-001-auth"


def implementation_metadata(project) -> dict:
    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("slice_implementation"))
        return event.asset_materialization.metadata


def implemented_by(agent, standin, point_at, project, vso, tmp_path, monkeypatch):
    """`vso orchestrate` of one slice with the real CLI in batch mode, in each team pane pointed at its
    briefing: the stand-in model reads it with the CLI's own tools, writes the service, runs the unit
    tests through the CLI's shell tool, and writes the done marker. Returns the stand-in model."""
    cli = real_agent_cli(agent)
    home = tmp_path / "agent-home"
    home.mkdir()
    monkeypatch.setenv("PATH", f"{cli.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    (project.state_dir / "config.toml").write_text(
        f'[agent]\nname = "{agent}"\nmode = "batch"\n[team]\nroles = ["orchestrator", "developer"]\n'
        "[limits]\ntimeout_minutes = 5\n")
    plan = load_plan(project)
    with standin(code_for=lambda slice_id: implement(plan.slice(slice_id))) as model:
        point_at(model, home, monkeypatch)
        result = vso("orchestrate", "--slice-id", AUTH)
    assert result.exit_code == 0, (result.output, [r[-300:] for r in model.tool_results()][-3:])
    # VSO's own unit-test check is green on what the CLI wrote with its own tools.
    assert load_state(project)["slices"][AUTH]["status"] == "implemented"
    worktree = project.state_dir / "worktrees" / AUTH
    assert (worktree / "vertical-slices" / AUTH / "service" / "main.py").read_text() == implement(plan.slice(AUTH))
    assert [r for r in model.tool_results() if " passed" in r], "the unit tests never ran through the CLI"
    assert "implemented by the stand-in model" in (worktree / ".vso-done.md").read_text()
    return model


def test_claude_code_in_batch_mode_implements_a_slice_and_what_it_spent_is_recorded(committed, vso, tmp_path,
                                                                                  monkeypatch):
    model = implemented_by("claude", StandinAnthropic, claude_against, committed, vso, tmp_path, monkeypatch)
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
    meta = implementation_metadata(committed)
    answers = len(model.requests)
    assert meta["agent_tokens_in"].value == 100 * answers and meta["agent_tokens_out"].value == 20 * answers
    assert "agent_cost_usd" not in meta  # Codex reports no cost: none is made up


@pytest.fixture(autouse=True)
def _no_team_left(committed):
    yield
    from vso_dagster.core.base.config import load_config
    from vso_dagster.core.implementation.team_run import stop_team

    stop_team(load_config(committed), AUTH)
