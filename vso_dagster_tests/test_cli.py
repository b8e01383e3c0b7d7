"""The `vso` command, in process for speed and through the real executables end to end."""

from __future__ import annotations

import json
import os
import subprocess

import dagster as dg
import git

from .conftest import TODO_SPEC, venv_bin
from .dagster_ui import running_ui


def test_init_lays_out_a_project_once_and_never_overwrites(project, vso):
    result = vso("init", "--title", "Shop")
    assert result.exit_code == 0, result.output
    for rel in ("master-spec.md", "deployments/test/terraform.tfvars", "deployments/production/terraform.tfvars",
                "deployments/test/modal_config.json", "vertical-slices", ".slice-orchestrator/logs", ".gitignore"):
        assert (project.root / rel).exists(), rel
    assert git.Repo(project.root).git_dir
    assert 'title: "Shop"' in project.master_spec.read_text()
    assert 'server_type = "cx33"' in (project.root / "deployments/production/terraform.tfvars").read_text()
    assert ".slice-orchestrator/dagster/" in (project.root / ".gitignore").read_text()
    assert 'name = "scaffold"' in (project.state_dir / "config.toml").read_text()

    project.master_spec.write_text(TODO_SPEC)
    again = vso("init")
    assert again.exit_code == 0 and "Nothing to do" in again.output
    assert project.master_spec.read_text() == TODO_SPEC


def test_init_keeps_an_existing_gitignore_and_repo(project, vso):
    repo = git.Repo.init(project.root)
    (project.root / ".gitignore").write_text("node_modules/")
    assert vso("init").exit_code == 0
    text = (project.root / ".gitignore").read_text()
    assert text.startswith("node_modules/\n# --- VSO ---")
    assert git.Repo(project.root).git_dir == repo.git_dir


def test_a_title_with_quotes_and_backslashes_makes_a_valid_spec(project, vso):
    from vso_dagster.core.base.master_spec import read_project_spec

    title = 'Bob "The" Shop \\ Café: 50% off'
    assert vso("init", "--title", title).exit_code == 0
    assert vso("validate").exit_code == 0
    assert read_project_spec(project).title == title
    assert f"# {title} Master Specification" in project.master_spec.read_text()


def test_the_skeleton_spec_validates_and_decomposes(project, vso):
    vso("init")
    assert vso("validate").exit_code == 0
    assert vso("decompose").exit_code == 0
    assert (project.slices_dir / "slice-002-notes/spec.md").exists()


def test_status_json_has_the_documented_state_shape(todo_project, vso):
    assert vso("decompose").exit_code == 0
    state = json.loads(vso("status", "--json").output)
    assert {"version", "slices", "deployments", "conflicts", "nightly_last_run", "last_change_check",
            "last_updated", "master_spec"} <= set(state)
    assert {"version", "hash", "last_modified"} <= set(state["master_spec"])
    assert state["deployments"] == {"test": {"slices_deployed": []}, "production": {"slices_deployed": []}}
    auth = state["slices"]["slice-001-auth"]
    assert {k: auth[k] for k in ("version", "status", "dependencies", "platform")} == {
        "version": "1.0.0", "status": "draft", "dependencies": [], "platform": "hetzner"}
    assert "last_modified" in auth and "files" not in auth
    table = vso("status").output
    assert "slice-002-todos" in table and "slice-001-auth" in table


def test_status_before_any_decomposition(project, vso):
    refused = vso("status")
    assert refused.exit_code == 2 and "not a VSO project" in refused.output
    assert vso("init").exit_code == 0
    result = vso("status")
    assert result.exit_code == 0 and "No slices yet" in result.output


def test_decompose_logs_to_the_decomposition_log(todo_project, vso):
    assert vso("decompose").exit_code == 0
    log = (todo_project.logs_dir / "decomposition.log").read_text()
    assert "new slice slice-001-auth for component 'Auth'" in log
    assert "slice-003-reports v1.0.0: wrote" in log
    todo_project.master_spec.write_text(TODO_SPEC.replace("(depends on: Auth)", "(depends on: Billing)"))
    assert vso("decompose").exit_code == 2
    log = (todo_project.logs_dir / "decomposition.log").read_text()
    assert "decomposition refused:\nmaster-spec.md:25: component 'Todos' depends on" in log


def run(argv: list[str], cwd, env: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_end_to_end_with_the_real_executables(todo_project):
    """`vso decompose`, then the README's `dagster asset materialize` on the same instance."""
    env = {"DAGSTER_HOME": "", "VSO_PROJECT_ROOT": ""}
    decompose = run([venv_bin("vso"), "decompose"], todo_project.root, env)
    assert decompose.returncode == 0, decompose.stderr
    assert "3 slices, 3 written or refreshed" in decompose.stdout

    spec = todo_project.slice_dir("slice-001-auth") / "spec.md"
    spec.unlink()
    home = todo_project.dagster_home
    materialize = run([venv_bin("dagster"), "asset", "materialize", "-m", "vso_dagster.definitions",
                       "--select", "slice_spec", "--partition", "slice-001-auth"], todo_project.root,
                      {"DAGSTER_HOME": str(home)})
    assert materialize.returncode == 0, materialize.stderr[-3000:]
    assert spec.exists()

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 4  # vso_plan, vso_slice_specs, vso_master_sync, then dagster's own run
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        partitions = instance.get_materialized_partitions(dg.AssetKey("slice_spec"))
        assert partitions == {"slice-001-auth", "slice-002-todos", "slice-003-reports"}

    again = run([venv_bin("vso"), "decompose"], todo_project.root, env)
    assert "no run started" in again.stdout and "3 slices, 0 written or refreshed" in again.stdout
    (todo_project.slice_dir("slice-002-todos") / "metadata.json").unlink()
    healed = run([venv_bin("vso"), "decompose"], todo_project.root, env)
    assert "3 slices, 1 written or refreshed" in healed.stdout, healed.stdout
    assert (todo_project.slice_dir("slice-002-todos") / "metadata.json").exists()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_runs()) == 6  # nothing for the unchanged spec; then vso_slice_specs, vso_master_sync

    bad = todo_project.master_spec.read_text().replace("(depends on: Auth)", "(depends on: Todos)")
    todo_project.master_spec.write_text(bad.replace("Depends on: Todos", "Depends on: Auth"))
    failed = run([venv_bin("vso"), "decompose"], todo_project.root, env)
    assert failed.returncode == 2
    assert failed.stderr.startswith("master-spec.md:"), failed.stderr
    assert "Traceback" not in failed.stderr + failed.stdout


def test_ui_serves_the_dagster_webserver(todo_project):
    with running_ui(todo_project) as ui:
        nodes = ui.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]
        keys = sorted(node["assetKey"]["path"][0] for node in nodes)
        assert keys == ["integration_tests", "master_spec", "master_sync", "production_deployment",
                        "slice_implementation", "slice_inputs", "slice_plan", "slice_spec", "test_deployment"]
        assert (todo_project.dagster_home / "dagster.yaml").exists()


def test_a_json_command_does_not_silence_the_next_command_in_the_same_process(project, vso):
    assert vso("init").exit_code == 0
    assert vso("status", "--json").exit_code == 0
    assert "Nothing to do" in vso("init").output
