"""`vso deploy --all` delivers independent slices at once and a slice only after what it depends on,
through the real command, each slice one Dagster run, served by a real process on loopback."""

from __future__ import annotations

import json
import subprocess

import dagster as dg
import httpx

from vso_dagster.core.base.state import load_state

from .conftest import TODO_SPEC, commit, commit_on_branch, run_vso

AUTH, TODOS, REPORTS = "slice-001-auth", "slice-002-todos", "slice-003-reports"


def outcomes(done: subprocess.CompletedProcess) -> dict[str, dict]:
    return {o["slice_id"]: o for o in json.loads(done.stdout)}


def test_deploy_all_runs_independent_slices_at_once_and_a_dependent_only_after_its_dependency(todo_project):
    # Reports depends on nothing here: auth and reports make the first wave, todos the second.
    todo_project.master_spec.write_text(TODO_SPEC.replace("Weekly summaries. Depends on: Todos", "Weekly summaries."))
    root = todo_project.root
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    run_vso(root, "init", check=True)
    run_vso(root, "decompose", check=True)
    commit(root)
    run_vso(root, "orchestrate", "--all", check=True)
    service = todo_project.state_dir / "worktrees" / AUTH / "vertical-slices" / AUTH / "service" / "main.py"
    working = service.read_text()
    try:
        # Auth's tested commit cannot start: its dependent is blocked, the independent slice serves.
        service.write_text("raise RuntimeError('broken on purpose')\n")
        commit_on_branch(todo_project, AUTH, as_tested=True)
        broken = run_vso(root, "deploy", "--all", "--concurrency", "2", "--environment", "test", "--json")
        assert broken.returncode == 1, broken.stderr[-2000:]
        said = outcomes(broken)
        assert said[AUTH]["result"] == "failed" and "never became healthy" in said[AUTH]["detail"]
        assert said[TODOS]["result"] == "blocked" and AUTH in said[TODOS]["detail"] and not said[TODOS]["run_id"]
        assert said[REPORTS]["result"] == "deployed"
        assert set(load_state(todo_project)["deployments"]["test"]["slices_deployed"]) == {REPORTS}

        service.write_text(working)
        commit_on_branch(todo_project, AUTH)
        delivered = run_vso(root, "deploy", "--all", "--concurrency", "2", "--json", check=True)
        said = outcomes(delivered)
        assert {o["result"] for o in said.values()} == {"deployed"}, said
        production = load_state(todo_project)["deployments"]["production"]["endpoints"]
        for sid in (AUTH, TODOS, REPORTS):
            assert httpx.get(f"{production[sid]['url']}/health").json()["status"] == "ok"
        # Each slice went home; slices that reached production together merged one after the other.
        merged = subprocess.run(["git", "-C", str(root), "branch", "--merged", "main", "--list", "slice-*",
                                 "--format=%(refname:short)"],
                                capture_output=True, text=True, check=True).stdout.split()
        assert merged == [f"{sid}-v1.0.0" for sid in (AUTH, TODOS, REPORTS)], merged
        # Dagster's own record of the runs: auth and reports overlapped, todos began after auth ended.
        with dg.DagsterInstance.from_config(str(todo_project.dagster_home)) as instance:
            runs = {sid: instance.get_run_record_by_id(said[sid]["run_id"]) for sid in said}
        assert runs[REPORTS].start_time < runs[AUTH].end_time and runs[AUTH].start_time < runs[REPORTS].end_time
        assert runs[TODOS].start_time >= runs[AUTH].end_time
    finally:
        run_vso(root, "destroy", "--all", "--environment", "both", check=True)
