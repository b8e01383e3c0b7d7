"""Slices -> master: the generated `## Vertical Slices` section, and endpoints and criteria a slice
added to itself carried into the master, without a second decomposition."""

from __future__ import annotations

from vso_dagster.core.decompose import plan_is_current, read_project_spec
from vso_dagster.core.master_sync import sync_master
from vso_dagster.core.state import load_state

from .conftest import TODO_SPEC, decompose

TODOS = "slice-002-todos"


def test_the_generated_section_lists_every_slice_and_their_graph(decomposed):
    assert sync_master(decomposed).written
    text = decomposed.master_spec.read_text()
    section = text.split("## Vertical Slices", 1)[1]
    assert "| `slice-001-auth` | 1.0.0 | - | hetzner |" in section
    assert f"| `{TODOS}` | 1.0.0 | slice-001-auth | hetzner |" in section
    assert "draft" not in section and "127.0.0.1" not in section  # live facts stay out of the master
    assert "```mermaid\ngraph TD" in section and "slice_001_auth --> slice_002_todos" in section
    assert text.split("## Vertical Slices")[0] == TODO_SPEC.split("## Vertical Slices")[0]  # user text untouched
    assert plan_is_current(decomposed, read_project_spec(decomposed))  # the section is not an input
    assert decompose(decomposed) == []
    assert not sync_master(decomposed).written  # a second sync has nothing to write


def test_a_section_in_the_middle_is_replaced_and_what_follows_kept(decomposed):
    decomposed.master_spec.write_text(TODO_SPEC.replace("## Vertical Slices\n<!-- generated -->\n",
                                                        "## Vertical Slices\nold table\n\n## Appendix\nKeep me.\n"))
    sync_master(decomposed)
    text = decomposed.master_spec.read_text()
    assert "old table" not in text and text.endswith("## Appendix\nKeep me.\n")
    assert text.count("## Vertical Slices") == 1


def test_what_a_slice_added_goes_to_the_master_once_and_the_loop_settles(decomposed):
    spec = decomposed.slice_dir(TODOS) / "spec.md"
    text = spec.read_text()
    text = text.replace("### As a system, I must:", "- mark a todo as done\n\n### As a system, I must:")
    text = text.replace("\n## Data Models", "- DELETE /todos/{todo_id} → no body → Delete a todo\n\n## Data Models")
    spec.write_text(text)
    synced = sync_master(decomposed)
    assert synced.endpoints == ["- DELETE /todos/{todo_id} → Delete a todo [Todos]"]
    assert synced.criteria == ["- mark a todo as done [Todos]"]
    assert synced.version == "1.1.0"
    master = decomposed.master_spec.read_text()
    assert 'version: "1.1.0"' in master
    assert "- GET /reports/weekly -> Weekly report\n- DELETE /todos/{todo_id} → Delete a todo [Todos]" in master
    assert "- A user can create and list todos\n- mark a todo as done [Todos]" in master

    assert decompose(decomposed) == [TODOS]  # the master changed: its slice regenerates, merging cleanly
    assert load_state(decomposed)["conflicts"] == []
    merged = spec.read_text()
    assert merged.count("- DELETE /todos/{todo_id} → no body → Delete a todo") == 1
    assert "- call `DELETE /todos/{todo_id}` to delete a todo" in merged
    assert load_state(decomposed)["slices"][TODOS]["version"] == "1.1.0"  # a new endpoint: minor
    again = sync_master(decomposed)
    assert again.endpoints == [] and again.criteria == [] and again.version is None
    assert decompose(decomposed) == []  # settled: no further decomposition


def test_a_spec_without_the_section_gets_one_and_the_next_decompose_does_nothing(todo_project, vso):
    todo_project.master_spec.write_text(TODO_SPEC.split("## Vertical Slices")[0].rstrip() + "\n")
    assert vso("decompose").exit_code == 0
    assert todo_project.master_spec.read_text().count("## Vertical Slices") == 1
    state_before = todo_project.state_file.read_bytes()
    again = vso("decompose")
    assert "Nothing changed since the last decomposition: no run started." in again.output
    assert todo_project.state_file.read_bytes() == state_before
