"""Slices -> master: the generated `## Vertical Slices` section, and endpoints and criteria a slice
added to itself carried into the master, without a second decomposition."""

from __future__ import annotations

from vso_dagster.core.base.master_spec import read_project_spec
from vso_dagster.core.base.state import load_state
from vso_dagster.core.decomposition.decompose import plan_is_current
from vso_dagster.core.sync.master_sync import sync_master

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


NOTHING_CHANGED = "Nothing changed since the last decomposition: no run started."


def test_a_vertical_slices_line_inside_a_code_fence_is_user_text(todo_project, vso):
    """The section is found by the Markdown parser: a fence that shows one is not it."""
    fence = ("Our layout, for reference:\n\n```markdown\n## Vertical Slices\n| id | note |\n```\n\n"
             "Prose after the fence, which must stay.\n\n")
    text = TODO_SPEC.replace("## Architecture\n", fence + "## Architecture\n")
    todo_project.master_spec.write_text(text)
    assert vso("decompose").exit_code == 0
    after = todo_project.master_spec.read_text()
    assert after.startswith(text.split("## Vertical Slices\n<!--")[0])  # everything before the real section
    assert "## Vertical Slices\n| id | note |\n```" in after and "Prose after the fence, which must stay." in after
    assert "| `slice-001-auth` | 1.0.0 | - | hetzner |" in after.split("Prose after the fence")[1]
    assert NOTHING_CHANGED in vso("decompose").output


def test_a_setext_vertical_slices_heading_is_the_section_and_is_not_added_twice(todo_project, vso):
    todo_project.master_spec.write_text(TODO_SPEC.replace("## Vertical Slices\n", "Vertical Slices\n---------------\n"))
    assert vso("decompose").exit_code == 0
    after = todo_project.master_spec.read_text()
    assert after.count("Vertical Slices") == 1 and "| `slice-001-auth` |" in after
    assert NOTHING_CHANGED in vso("decompose").output


def test_an_edit_next_to_the_section_counts_even_after_a_form_feed(todo_project, vso):
    """markdown-it's lines and str.splitlines disagree at \\x0c: the hash must use the parser's."""
    text = (TODO_SPEC.replace("A small todo app.", "A small todo app.\x0c Printed in two pages.")
            .replace("## Vertical Slices", "## API Endpoints\n- GET /reports → Weekly reports\n## Vertical Slices"))
    todo_project.master_spec.write_text(text)
    assert vso("decompose").exit_code == 0
    edited = todo_project.master_spec.read_text().replace("→ Weekly reports", "→ Weekly reports, as PDF")
    todo_project.master_spec.write_text(edited)
    again = vso("decompose")
    assert NOTHING_CHANGED not in again.output
    assert "Weekly reports, as PDF" in (todo_project.slice_dir("slice-003-reports") / "spec.md").read_text()


def test_a_crlf_master_keeps_its_line_endings(todo_project, vso):
    todo_project.master_spec.write_bytes(TODO_SPEC.replace("\n", "\r\n").encode())
    assert vso("decompose").exit_code == 0
    data = todo_project.master_spec.read_bytes()
    assert b"| `slice-001-auth` |" in data
    assert data.count(b"\n") == data.count(b"\r\n")  # no line lost its CR
    assert data.startswith(TODO_SPEC.split("## Vertical Slices")[0].replace("\n", "\r\n").encode())
