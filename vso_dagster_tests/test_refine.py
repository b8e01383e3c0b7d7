"""Optional AI refinement of slice specs, with the STAND-IN agent as the refiner."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from vso_dagster.core.base.config import load_config
from vso_dagster.core.decomposition.decompose import (
    decompose_project,
)
from vso_dagster.core.decomposition.refine import agent_refiner, slice_spec_problems

from .conftest import aider_against, claude_against, codex_against, real_agent_cli
from .standin_model.anthropic_api import StandinAnthropic
from .standin_model.openai_chat import StandinChat
from .standin_model.openai_responses import StandinOpenAI
from .standin_model.server import ADDED_CRITERION

STANDIN = str(Path(__file__).with_name("standin_agent.py"))


def configure(project, behavior: str = "", refine: bool = True) -> None:
    env = f'"env", "STANDIN_BEHAVIOR={behavior}", ' if behavior else ""
    project.state_dir.mkdir(parents=True, exist_ok=True)
    (project.state_dir / "config.toml").write_text(
        f'[agent]\nname = "custom"\nmode = "batch"\nrefine_specs = {str(refine).lower()}\n'
        f'argv = [{env}"{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}", "{{briefing}}"]\n')


def decompose(project):
    return decompose_project(project, refine=agent_refiner(project, load_config(project)))[0]


def test_a_valid_refinement_is_used(todo_project):
    configure(todo_project)
    decompose(todo_project)
    spec = (todo_project.slice_dir("slice-002-todos") / "spec.md").read_text()
    assert "- get a clear error for bad input" in spec


def test_the_refining_agent_gets_no_deploy_token(todo_project, vso, tmp_path, monkeypatch):
    tokens = {"HCLOUD_TOKEN": "canary-hc-41f2", "MODAL_TOKEN_SECRET": "canary-ms-9d0e"}
    for name, value in {**tokens, "ANTHROPIC_API_KEY": "canary-ak-77aa"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STANDIN_ENV_DUMP", str(tmp_path / "env"))
    configure(todo_project)
    assert vso("decompose").exit_code == 0
    seen = json.loads((tmp_path / "env.refiner").read_text())["env"]
    assert seen["ANTHROPIC_API_KEY"] == "canary-ak-77aa" and not set(tokens) & set(seen)


def test_a_refinement_that_breaks_the_spec_is_discarded_with_a_warning(todo_project, caplog):
    configure(todo_project, behavior="lazy")
    plan = decompose(todo_project)
    spec = (todo_project.slice_dir("slice-002-todos") / "spec.md").read_text()
    assert spec.startswith('---\nslice_id: "slice-002-todos"') and "clear error" not in spec
    assert "slice-002-todos: refined spec discarded" in caplog.text
    assert slice_spec_problems(spec, next(s for s in plan.slices if s.slice_id == "slice-002-todos")) == []


def test_refinement_is_off_by_default(todo_project):
    configure(todo_project, refine=False)
    assert agent_refiner(todo_project, load_config(todo_project)) is None


def test_slice_spec_problems_name_what_is_wrong(todo_project):
    plan = decompose(todo_project)
    s = plan.slices[1]
    good = (todo_project.slice_dir(s.slice_id) / "spec.md").read_text()
    assert slice_spec_problems(good, s) == []
    broken = good.replace('slice_id: "slice-002-todos"', 'slice_id: "slice-009-x"').replace("## Tests\n", "")
    assert slice_spec_problems(broken, s) == ["slice_id is 'slice-009-x', not 'slice-002-todos'",
                                               "section `## Tests` is missing"]


@pytest.mark.parametrize("agent, standin, point_at", [("claude", StandinAnthropic, claude_against),
                                                     ("codex", StandinOpenAI, codex_against),
                                                     ("aider", StandinChat, aider_against)])
def test_a_real_agent_cli_refines_specs_in_its_one_shot_mode(agent, standin, point_at, todo_project, vso, tmp_path,
                                                             monkeypatch):
    """`vso decompose` with refine_specs and the built-in adapter: the real CLI, its briefing on
    stdin, against a stand-in model that answers with the CLI's own file-writing tool."""
    cli = real_agent_cli(agent)
    home = tmp_path / "agent-home"
    home.mkdir()
    monkeypatch.setenv("PATH", f"{cli.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    todo_project.state_dir.mkdir(parents=True, exist_ok=True)
    (todo_project.state_dir / "config.toml").write_text(f'[agent]\nname = "{agent}"\nrefine_specs = true\n')
    with standin() as model:
        point_at(model, home, monkeypatch)
        result = vso("decompose")
    assert result.exit_code == 0, result.output
    for slice_id in ("slice-001-auth", "slice-002-todos", "slice-003-reports"):
        assert ADDED_CRITERION in (todo_project.slice_dir(slice_id) / "spec.md").read_text(), slice_id
    briefed = [p for p in model.prompts() if "Refine the slice spec of slice-002-todos" in p]
    assert briefed and 'slice_id: "slice-002-todos"' in briefed[0]  # the briefing itself reached the model
    assert f"spec refined by {agent}" in (todo_project.logs_dir / "decomposition.log").read_text()
    # The CLI worked in the refinement's own folder: nothing of its own landed in the project's checkout.
    assert not list(todo_project.root.glob(".aider*")) and not (todo_project.root / ".gitignore").exists()
