"""Incremental, atomic, edit-preserving writes, straight through the core (no Dagster)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from vso_dagster.core.base.project import OutsideProjectError, Project

from .conftest import TODO_SPEC, decompose, tree_digest


def state(project: Project) -> dict:
    return json.loads(project.state_file.read_text())


def test_an_unchanged_spec_writes_no_file(todo_project):
    assert decompose(todo_project) == ["slice-001-auth", "slice-002-todos", "slice-003-reports"]
    before = tree_digest(todo_project.root)
    assert decompose(todo_project) == []
    assert tree_digest(todo_project.root) == before


def test_a_changed_component_rewrites_only_its_slice_and_bumps_its_version(todo_project):
    decompose(todo_project)
    auth_before = tree_digest(todo_project.slice_dir("slice-001-auth"))
    todo_project.master_spec.write_text(TODO_SPEC.replace("Todo items (depends", "Todo items with due dates (depends"))
    assert decompose(todo_project) == ["slice-002-todos"]
    assert tree_digest(todo_project.slice_dir("slice-001-auth")) == auth_before
    assert "Todo items with due dates" in (todo_project.slice_dir("slice-002-todos") / "spec.md").read_text()
    slices = state(todo_project)["slices"]
    assert slices["slice-002-todos"]["version"] == "1.0.1" and slices["slice-001-auth"]["version"] == "1.0.0"


def test_moving_text_in_the_master_rewrites_nothing(todo_project):
    decompose(todo_project)
    before = tree_digest(todo_project.slices_dir)
    todo_project.master_spec.write_text(TODO_SPEC.replace("A small todo app.", "A small todo app.\n\nIt is small."))
    assert decompose(todo_project) == []
    assert tree_digest(todo_project.slices_dir) == before


def test_an_edit_to_a_file_the_master_change_does_not_touch_is_no_conflict(todo_project):
    decompose(todo_project)
    service = todo_project.slice_dir("slice-002-todos") / "service/main.py"
    service.write_text(service.read_text() + "\n# implemented by an agent\n")
    todo_project.master_spec.write_text(TODO_SPEC.replace("Todo items (depends", "Todo items with tags (depends"))
    assert decompose(todo_project) == ["slice-002-todos"]
    assert "Todo items with tags" in (todo_project.slice_dir("slice-002-todos") / "spec.md").read_text()
    assert service.read_text().endswith("# implemented by an agent\n")
    assert state(todo_project)["conflicts"] == []


def test_a_deleted_file_is_regenerated(todo_project):
    decompose(todo_project)
    (todo_project.slice_dir("slice-001-auth") / "spec.md").unlink()
    assert decompose(todo_project) == ["slice-001-auth"]
    assert (todo_project.slice_dir("slice-001-auth") / "spec.md").exists()


def test_a_removed_component_is_retired_not_deleted(todo_project):
    decompose(todo_project)
    todo_project.master_spec.write_text(TODO_SPEC.replace("- **Reports**: Weekly summaries. Depends on: Todos\n", "")
                                        .replace("- GET /reports/weekly -> Weekly report\n", ""))
    decompose(todo_project)
    assert state(todo_project)["slices"]["slice-003-reports"]["status"] == "retired"
    assert (todo_project.slice_dir("slice-003-reports") / "spec.md").exists()


def test_platform_change_removes_the_unedited_modal_app(todo_project):
    todo_project.master_spec.write_text(TODO_SPEC.replace("Weekly summaries.", "Weekly summaries (platform: modal)."))
    decompose(todo_project)
    modal_app = todo_project.slice_dir("slice-003-reports") / "modal/app.py"
    assert modal_app.exists()
    todo_project.master_spec.write_text(TODO_SPEC)
    decompose(todo_project)
    assert not modal_app.exists()


def test_writes_are_atomic_and_leave_no_temp_files(todo_project):
    decompose(todo_project)
    leftovers = [p for p in todo_project.root.rglob("*") if p.name.endswith(".vso-tmp")]
    assert leftovers == []
    mode = (todo_project.slice_dir("slice-001-auth") / "spec.md").stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_nothing_is_written_through_a_symlink_out_of_the_project(todo_project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    todo_project.slices_dir.mkdir()
    (todo_project.slices_dir / "slice-001-auth").symlink_to(outside)
    with pytest.raises(OutsideProjectError):
        decompose(todo_project)
    assert list(outside.iterdir()) == []


def test_a_symlink_inside_a_slice_that_leads_out_is_refused_before_any_write(todo_project, vso, tmp_path):
    """`tests/` linked to a directory outside: not one file is written, there or anywhere."""
    assert vso("decompose").exit_code == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    tests = todo_project.slice_dir("slice-001-auth") / "tests"
    shutil.rmtree(tests)
    tests.symlink_to(outside)
    spec = todo_project.master_spec
    spec.write_text(spec.read_text().replace("login and tokens", "login, tokens and an audit log"))
    before = tree_digest(todo_project.slice_dir("slice-001-auth"))
    result = vso("decompose")
    assert result.exit_code != 0 and "outside the project root" in result.output
    assert list(outside.iterdir()) == []
    assert tree_digest(todo_project.slice_dir("slice-001-auth")) == before


def test_a_spec_linked_to_a_file_outside_is_never_read_into_the_project(todo_project, vso, tmp_path):
    assert vso("decompose").exit_code == 0
    secret = tmp_path / "secret.txt"
    secret.write_text("the contents of a file outside the project\n")
    spec = todo_project.slice_dir("slice-001-auth") / "spec.md"
    spec.unlink()
    spec.symlink_to(secret)
    master = todo_project.master_spec
    master.write_text(master.read_text().replace("login and tokens", "login, tokens and an audit log"))
    assert vso("decompose").exit_code != 0
    written = b"".join(p.read_bytes() for p in todo_project.root.rglob("*") if p.is_file() and not p.is_symlink())
    assert b"the contents of a file outside the project" not in written
    assert not spec.with_name("spec.md.proposed").exists()


def test_a_lock_planted_as_a_dangling_symlink_creates_nothing_outside(todo_project, vso, tmp_path):
    assert vso("decompose").exit_code == 0
    target = tmp_path / "created-outside"
    (todo_project.state_dir / "state.lock").unlink()
    (todo_project.state_dir / "state.lock").symlink_to(target)
    master = todo_project.master_spec
    master.write_text(master.read_text().replace("login and tokens", "login, tokens and an audit log"))
    result = vso("decompose")
    assert result.exit_code != 0 and "state.lock: is a symlink" in result.output, result.output
    assert not target.exists()


def test_deployment_configs_are_created_once_and_never_overwritten(todo_project):
    decompose(todo_project)
    tfvars = todo_project.root / "deployments/production/terraform.tfvars"
    assert 'server_type = "cx33"' in tfvars.read_text()
    assert json.loads((todo_project.root / "deployments/test/modal_config.json").read_text())["environment"] == "test"
    tfvars.write_text('server_type = "cx52"\n')
    todo_project.master_spec.write_text(TODO_SPEC.replace("A small todo app.", "A todo app."))
    decompose(todo_project)
    assert tfvars.read_text() == 'server_type = "cx52"\n'


def test_state_is_rewritten_only_when_it_changed_and_then_stamped(todo_project):
    from vso_dagster.core.base.state import load_state, save_state

    decompose(todo_project)
    text = todo_project.state_file.read_text()
    current = load_state(todo_project)
    assert save_state(todo_project, current) is False
    assert todo_project.state_file.read_text() == text

    current["slices"]["slice-002-todos"]["status"] = "implemented"
    current["last_updated"] = "2000-01-01T00:00:00+00:00"  # stale in memory: the file's stamp is what counts
    assert save_state(todo_project, current) is True
    saved = state(todo_project)
    assert saved["slices"]["slice-002-todos"]["status"] == "implemented"
    assert saved["last_updated"] == current["last_updated"] >= json.loads(text)["last_updated"]
    assert {k: v for k, v in saved.items() if k not in ("slices", "last_updated")} == \
        {k: v for k, v in json.loads(text).items() if k not in ("slices", "last_updated")}


@pytest.fixture
def own_templates(tmp_path, monkeypatch):
    """A copy of VSO's templates for the test to edit, seen through fresh template caches; `refresh`
    clears them after an edit (as a new VSO process starts without them)."""
    from vso_dagster.core.base import templating

    def refresh():
        templating.environment.cache_clear()
        templating.fingerprint.cache_clear()

    templates = tmp_path / "templates"
    shutil.copytree(templating.templates_dir(), templates)
    monkeypatch.setattr(templating, "templates_dir", lambda: templates)
    refresh()
    yield templates, refresh
    monkeypatch.undo()
    refresh()


def test_a_slice_template_change_regenerates_the_slices_and_a_project_template_change_none(todo_project, own_templates):
    templates, refresh = own_templates
    decompose(todo_project)
    gitignore = templates / "project" / "gitignore.j2"
    gitignore.write_text(gitignore.read_text() + "# one more line\n")
    refresh()
    assert decompose(todo_project) == []
    spec = templates / "slice" / "spec.md.j2"
    spec.write_text(spec.read_text() + "\n<!-- template v2 -->\n")
    refresh()
    assert decompose(todo_project) == ["slice-001-auth", "slice-002-todos", "slice-003-reports"]
    assert "<!-- template v2 -->" in (todo_project.slice_dir("slice-001-auth") / "spec.md").read_text()
