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

from .conftest import run_vso
from .standin_model.anthropic_api import StandinAnthropic
from .test_refine import claude_against, real_agent_cli

AUTH = "slice-001-auth"


def test_claude_code_in_batch_mode_implements_a_slice_through_vso_orchestrate(committed, vso, tmp_path,
                                                                              monkeypatch):
    """`claude -p` in each team pane, pointed at its briefing: the stand-in model reads it with Claude
    Code's Read tool, writes the service with Write, runs the unit tests with Bash, and writes the
    done marker; VSO's own unit-test check is green on what the CLI wrote."""
    cli = real_agent_cli("claude")
    home = tmp_path / "agent-home"
    home.mkdir()
    monkeypatch.setenv("PATH", f"{cli.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    (committed.state_dir / "config.toml").write_text(
        '[agent]\nname = "claude"\nmode = "batch"\n[team]\nroles = ["orchestrator", "developer"]\n'
        "[limits]\ntimeout_s = 300\n")
    plan = load_plan(committed)
    with StandinAnthropic(code_for=lambda slice_id: implement(plan.slice(slice_id))) as model:
        claude_against(model, home, monkeypatch)
        result = vso("orchestrate", "--slice-id", AUTH)
    assert result.exit_code == 0, (result.output, [r[-300:] for r in model.tool_results()][-3:])
    assert load_state(committed)["slices"][AUTH]["status"] == "implemented"
    worktree = committed.state_dir / "worktrees" / AUTH
    service = worktree / "vertical-slices" / AUTH / "service" / "main.py"
    assert service.read_text() == implement(plan.slice(AUTH))  # what the CLI's Write tool wrote
    shell_results = [r for r in model.tool_results() if "passed" in r]
    assert shell_results, "the unit tests never ran through Claude Code's Bash tool"
    assert "implemented by the stand-in model" in (worktree / ".vso-done.md").read_text()

    # What Claude Code reported spending (the stand-in bills 100 tokens in and 20 out per answer) is
    # the implementation's metadata in Dagster.
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


def implementation_metadata(project) -> dict:
    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("slice_implementation"))
        return event.asset_materialization.metadata


@pytest.fixture(autouse=True)
def _no_team_left(committed):
    yield
    from vso_dagster.core.base.config import load_config
    from vso_dagster.core.implementation.team_run import stop_team

    stop_team(load_config(committed), AUTH)
