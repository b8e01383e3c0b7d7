"""Optional AI refinement of slice specs, with the STAND-IN agent as the refiner."""

from __future__ import annotations

import sys
from pathlib import Path

from vso_dagster.core.config import load_config
from vso_dagster.core.decompose import load_plan, plan_project, read_project_spec, stale_slice_ids, write_slices
from vso_dagster.core.refine import agent_refiner, slice_spec_problems

STANDIN = str(Path(__file__).with_name("standin_agent.py"))


def configure(project, behavior: str = "", refine: bool = True) -> None:
    env = f'"env", "STANDIN_BEHAVIOR={behavior}", ' if behavior else ""
    project.state_dir.mkdir(parents=True, exist_ok=True)
    (project.state_dir / "config.toml").write_text(
        f'[agent]\nname = "custom"\nmode = "batch"\nrefine_specs = {str(refine).lower()}\n'
        f'argv = [{env}"{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}", "{{briefing}}"]\n')


def decompose(project):
    plan_project(project, read_project_spec(project))
    plan = load_plan(project)
    write_slices(project, plan, stale_slice_ids(project, plan), refine=agent_refiner(project, load_config(project)))
    return plan


def test_a_valid_refinement_is_used(todo_project):
    configure(todo_project)
    decompose(todo_project)
    spec = (todo_project.slice_dir("slice-002-todos") / "spec.md").read_text()
    assert "- get a clear error for bad input" in spec


def test_a_refinement_that_breaks_the_spec_is_discarded_with_a_warning(todo_project, caplog):
    configure(todo_project, behavior="lazy")
    plan = decompose(todo_project)
    spec = (todo_project.slice_dir("slice-002-todos") / "spec.md").read_text()
    assert spec.startswith('---\nslice_id: "slice-002-todos"') and "clear error" not in spec
    assert "slice-002-todos: refined spec discarded" in caplog.text
    assert slice_spec_problems(spec, next(s for s in plan["slices"] if s["slice_id"] == "slice-002-todos")) == []


def test_refinement_is_off_by_default(todo_project):
    configure(todo_project, refine=False)
    assert agent_refiner(todo_project, load_config(todo_project)) is None


def test_slice_spec_problems_name_what_is_wrong(todo_project):
    plan = decompose(todo_project)
    s = plan["slices"][1]
    good = (todo_project.slice_dir(s["slice_id"]) / "spec.md").read_text()
    assert slice_spec_problems(good, s) == []
    broken = good.replace('slice_id: "slice-002-todos"', 'slice_id: "slice-009-x"').replace("## Tests\n", "")
    assert slice_spec_problems(broken, s) == ["slice_id is 'slice-009-x', not 'slice-002-todos'",
                                               "section `## Tests` is missing"]
