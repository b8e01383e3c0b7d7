"""Master -> slice by three-way merge (real `git merge-file`): edits made downstream are kept,
overlaps become recorded conflicts, and `vso resolve` settles them each way."""

from __future__ import annotations

import json
import re

import pytest

from vso_dagster.core.base.baselines import load_baseline
from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.sync.resolve import resolve

from .conftest import TODO_SPEC, decompose
from .test_writes import state

TODOS = "slice-002-todos"
LIST_LINE = "- call `GET /todos` to list todos"


def spec_of(project):
    return project.slice_dir(TODOS) / "spec.md"


def change_master(project, old: str, new: str) -> None:
    text = project.master_spec.read_text()
    assert old in text
    project.master_spec.write_text(text.replace(old, new))


def test_an_edit_and_an_unrelated_master_change_are_both_kept(decomposed):
    spec = spec_of(decomposed)
    assert LIST_LINE in spec.read_text()
    spec.write_text(spec.read_text().replace("## API Specification", "Team note: todos are private.\n\n"
                                                                       "## API Specification"))
    service = decomposed.slice_dir(TODOS) / "service/main.py"
    service.write_text(service.read_text() + "\n# implemented by an agent\n")
    change_master(decomposed, "- GET /todos → List todos", "- GET /todos → List all todos")
    assert decompose(decomposed) == [TODOS]
    text = spec.read_text()
    assert "Team note: todos are private." in text and "- call `GET /todos` to list all todos" in text
    # The service skeleton is scaffolding: once edited, the edit owns it and the master no longer merges in.
    assert service.read_text().endswith("# implemented by an agent\n") and "List all todos" not in service.read_text()
    assert state(decomposed)["conflicts"] == []
    assert not list(decomposed.slice_dir(TODOS).rglob("*.proposed"))
    assert state(decomposed)["slices"][TODOS]["version"] == "1.0.1"  # wording: a patch


@pytest.fixture
def conflicted(decomposed):
    """The slice and the master both rewrote the line that lists todos."""
    spec = spec_of(decomposed)
    spec.write_text(spec.read_text().replace(LIST_LINE, "- call `GET /todos` to list my open todos, newest first"))
    edited = spec.read_bytes()
    change_master(decomposed, "- GET /todos → List todos", "- GET /todos → List all todos")
    assert decompose(decomposed) == [TODOS]
    return decomposed, edited


def test_overlapping_edits_keep_the_file_and_record_the_conflict(conflicted):
    project, edited = conflicted
    assert spec_of(project).read_bytes() == edited
    proposal = (project.slice_dir(TODOS) / "spec.md.proposed").read_text()
    assert "<<<<<<< slice (your edit)" in proposal and ">>>>>>> master (regenerated)" in proposal
    assert "list my open todos, newest first" in proposal and "list all todos" in proposal
    [conflict] = state(project)["conflicts"]
    assert conflict["path"] == f"vertical-slices/{TODOS}/spec.md"
    assert conflict["proposal"] == f"vertical-slices/{TODOS}/spec.md.proposed"
    assert (conflict["resolution"], conflict["master_version"], conflict["slice_version"]) == ("manual", "1.0.0",
                                                                                               "1.0.1")
    assert decompose(project) == []  # nothing new: the conflict simply waits


def test_a_slice_in_conflict_is_not_implemented(conflicted):
    from vso_dagster.core.base.plan import load_plan
    from vso_dagster.core.implementation.implement import implement_slice

    project, _ = conflicted
    with pytest.raises(VSOError, match=f"{TODOS}: unresolved conflict in vertical-slices/{TODOS}/spec.md"):
        implement_slice(project, load_plan(project), TODOS)


def test_resolve_take_master(conflicted):
    project, _ = conflicted
    assert resolve(project, TODOS, "master") == [f"vertical-slices/{TODOS}/spec.md"]
    text = spec_of(project).read_text()
    assert "list all todos" in text and "newest first" not in text
    assert state(project)["conflicts"] == [] and not (project.slice_dir(TODOS) / "spec.md.proposed").exists()
    assert decompose(project) == []


def test_resolve_take_slice_keeps_the_edit_and_merges_later_changes_from_the_new_base(conflicted):
    project, edited = conflicted
    resolve(project, TODOS, "slice")
    expected = edited.replace(b'version: "1.0.0"', b'version: "1.0.1"', 1)  # VSO's bookkeeping follows
    assert spec_of(project).read_bytes() == expected and state(project)["conflicts"] == []
    assert load_baseline(project, TODOS).pending == {}
    change_master(project, "Todo items (depends", "Todo items with tags (depends")
    assert decompose(project) == [TODOS]
    text = spec_of(project).read_text()
    assert "newest first" in text and "Todo items with tags" in text and state(project)["conflicts"] == []


def test_resolve_take_merged_refuses_markers_then_takes_the_edited_proposal(conflicted, vso):
    project, _ = conflicted
    proposal = project.slice_dir(TODOS) / "spec.md.proposed"
    refused = vso("resolve", TODOS, "--take", "merged")
    assert refused.exit_code == 2
    line = next(n for n, text in enumerate(proposal.read_text().splitlines(), 1) if text.startswith("<<<<<<<"))
    assert f"vertical-slices/{TODOS}/spec.md.proposed:{line}: still holds a conflict marker" in refused.output
    assert state(project)["conflicts"]  # nothing settled

    # Settled by hand: the conflict block becomes one line that keeps both wishes.
    block = re.compile(r"^<<<<<<< .*?^>>>>>>> [^\n]*\n", re.M | re.S)
    proposal.write_text(block.sub("- call `GET /todos` to list all todos, newest first\n", proposal.read_text()))
    settled = vso("resolve", TODOS, "--take", "merged")
    assert settled.exit_code == 0, settled.output
    assert "- call `GET /todos` to list all todos, newest first" in spec_of(project).read_text()
    assert not proposal.exists() and state(project)["conflicts"] == []


def test_a_proposal_someone_is_editing_is_not_overwritten(conflicted):
    project, _ = conflicted
    proposal = project.slice_dir(TODOS) / "spec.md.proposed"
    proposal.write_text(proposal.read_text() + "\nhalf-way through resolving\n")
    change_master(project, "- GET /todos → List all todos", "- GET /todos → List every todo")
    decompose(project)
    assert proposal.read_text().endswith("half-way through resolving\n")
    assert load_baseline(project, TODOS).pending["spec.md"].count("list every todo") == 1


def test_resolve_with_nothing_to_resolve_is_a_clear_error(decomposed, vso):
    result = vso("resolve", TODOS, "--take", "master")
    assert result.exit_code == 2 and f"{TODOS}: no conflict to resolve" in result.output


@pytest.mark.parametrize(("old", "new", "version"), [
    ("Todo items (depends", "Todo items you keep (depends", "1.0.1"),
    ("- GET /todos → List todos", "- GET /todos → List todos\n- DELETE /todos/{todo_id} → Delete a todo", "1.1.0"),
    ('version: "1.0.0"', 'version: "2.0.0"', "2.0.0"),
])
def test_the_slice_version_follows_semver(decomposed, old, new, version):
    change_master(decomposed, old, new)
    decompose(decomposed)
    assert state(decomposed)["slices"][TODOS]["version"] == version
    assert json.loads((decomposed.slice_dir(TODOS) / "metadata.json").read_text())["version"] == version


def test_the_spec_in_sync_check_fails_in_dagster_until_resolved(todo_project, vso):
    import dagster as dg

    from vso_dagster.lib.instance import use_project_instance

    assert vso("decompose").exit_code == 0
    spec = spec_of(todo_project)
    spec.write_text(spec.read_text().replace(LIST_LINE, "- call `GET /todos` to list my todos"))
    change_master(todo_project, "- GET /todos → List todos", "- GET /todos → List all todos")
    decomposed = vso("decompose")
    assert decomposed.exit_code == 0, decomposed.output
    status = vso("status")
    assert f"conflict vertical-slices/{TODOS}/spec.md" in status.output
    assert f"vso resolve {TODOS} --take master|slice|merged" in status.output

    def latest_check() -> dg.AssetCheckEvaluation:
        use_project_instance(todo_project)
        with dg.DagsterInstance.get() as instance:
            key = dg.AssetCheckKey(dg.AssetKey("slice_spec"), "spec_in_sync")
            [record] = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
            return record.event.dagster_event.event_specific_data

    failing = latest_check()
    assert not failing.passed and TODOS in failing.description
    resolved = vso("resolve", TODOS, "--take", "master")
    assert resolved.exit_code == 0 and f"spec_in_sync for {TODOS}: passed" in resolved.output
    assert latest_check().passed


def test_an_edited_file_the_master_no_longer_generates_is_said_and_settled(todo_project, vso):
    """A modal slice's app.py edited, then the slice moves to hetzner: decompose keeps the edit and
    says so; `--take master` removes the file, as the master has it, and `--take slice` keeps it."""
    from vso_dagster.core.base.state import load_state

    modal = TODO_SPEC.replace("Weekly summaries.", "Weekly summaries (platform: modal).")
    todo_project.master_spec.write_text(modal)
    assert vso("decompose").exit_code == 0
    app = todo_project.slice_dir("slice-003-reports") / "modal/app.py"
    app.write_text(app.read_text() + "\n# tuned by hand\n")
    todo_project.master_spec.write_text(TODO_SPEC)
    moved = vso("decompose")
    assert moved.exit_code == 0 and app.exists()
    said = " ".join(moved.output.split())
    assert "conflict: vertical-slices/slice-003-reports/modal/app.py: edited downstream, and the master no " \
           "longer generates it: your edit is kept" in said
    merged = vso("resolve", "slice-003-reports", "--take", "merged")
    assert merged.exit_code == 2 and "nothing to merge" in merged.output
    settled = vso("resolve", "slice-003-reports", "--take", "master")
    assert settled.exit_code == 0, settled.output
    assert not app.exists() and load_state(todo_project)["conflicts"] == []
