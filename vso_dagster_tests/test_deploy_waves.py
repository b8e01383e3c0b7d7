"""`vso deploy --all` delivers independent slices at once and a slice only after what it depends on,
through the real command, each slice one Dagster run, served by a real process on loopback; a slice
calls what it depends on where that serves in the same environment."""

from __future__ import annotations

import json
import subprocess

import dagster as dg
import httpx

from vso_dagster.core.base.state import load_state
from vso_dagster.core.deployment.local import stop_if_ours

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
        # Todos calls Auth: on its own, it does not deploy where Auth does not serve.
        alone = run_vso(root, "deploy", "--slice-id", TODOS, "--environment", "test")
        assert alone.returncode == 1
        assert f"{TODOS} calls {AUTH}, which does not serve test: deploy it to test first" in alone.stderr

        service.write_text(working)
        commit_on_branch(todo_project, AUTH)
        delivered = run_vso(root, "deploy", "--all", "--concurrency", "2", "--json", check=True)
        said = outcomes(delivered)
        assert {o["result"] for o in said.values()} == {"deployed"}, said
        production = load_state(todo_project)["deployments"]["production"]["endpoints"]
        for sid in (AUTH, TODOS, REPORTS):
            assert httpx.get(f"{production[sid]['url']}/health").json()["status"] == "ok"
        wired_to_production_auth(todo_project)
        # Each slice went home; slices that reached production together merged one after the other.
        merged = subprocess.run(["git", "-C", str(root), "branch", "--merged", "main", "--list", "slice-*",
                                 "--format=%(refname:short)"],
                                capture_output=True, text=True, check=True).stdout.split()
        assert merged == [f"{sid}-v1.0.0" for sid in (AUTH, TODOS, REPORTS)], merged
        # Dagster's own record of the runs: auth's and reports' were both made before either ended (how far
        # they then overlapped is up to the machine's load), todos' only after auth's ended.
        with dg.DagsterInstance.from_config(str(todo_project.dagster_home)) as instance:
            runs = {sid: instance.get_run_record_by_id(said[sid]["run_id"]) for sid in said}
        made = {sid: record.create_timestamp.timestamp() for sid, record in runs.items()}
        assert max(made[AUTH], made[REPORTS]) < min(runs[AUTH].end_time, runs[REPORTS].end_time)
        assert made[TODOS] >= runs[AUTH].end_time
        # Auth redeployed to test takes a new port: Todos, serving test, is redeployed to call it there.
        first_auth = load_state(todo_project)["deployments"]["test"]["endpoints"][AUTH]
        first_todos_url = load_state(todo_project)["deployments"]["test"]["endpoints"][TODOS]["url"]
        created = httpx.post(f"{first_todos_url}/todos", json={"title": "outlive the redeploy"}).json()
        run_vso(root, "deploy", "--slice-id", AUTH, "--environment", "test", check=True)
        test = load_state(todo_project)["deployments"]["test"]["endpoints"]
        # Todos owns the Todo model: its records are in its test database, which the new process opened.
        database = todo_project.state_dir / "data" / TODOS / "test.sqlite3"
        assert test[TODOS]["VSO_DATABASE_URL"] == f"sqlite:///{database}" and database.stat().st_size > 0
        assert httpx.get(f"{test[TODOS]['url']}/todos/{created['id']}").json() == created
        assert test[AUTH]["url"] != first_auth["url"] and not stop_if_ours(first_auth["pid"], first_auth["source"])
        assert test[TODOS]["wiring"] == {"VSO_DEP_AUTH_URL": test[AUTH]["url"]}
        assert environ_of(test[TODOS]["pid"])["VSO_DEP_AUTH_URL"] == test[AUTH]["url"]
        assert httpx.get(f"{test[TODOS]['url']}/health/dependencies").json()["Auth"]["status"] == "ok"
        # Its integration tests read back the record their run in the delivery stored, before the redeploy.
        run_vso(root, "test", "--slice-id", TODOS, "--environment", "test", check=True)
        # Todos' branch moves on: what it holds now does not go to production untried in test.
        todos_service = todo_project.state_dir / "worktrees" / TODOS / "vertical-slices" / TODOS / "service" / "main.py"
        todos_service.write_text(todos_service.read_text() + "# a change the team made\n")
        commit_on_branch(todo_project, TODOS)
        assert production_held(root).startswith("its branch moved on since the test deployment")
        # Nor does a move of Auth redeploy it now (what it would ship is untried there): its end-to-end tests
        # met an Auth that is gone.
        run_vso(root, "deploy", "--slice-id", AUTH, "--environment", "test", check=True)
        assert load_state(todo_project)["deployments"]["test"]["endpoints"][TODOS]["wiring"] == test[TODOS]["wiring"]
        assert production_held(root).startswith(f"the test deployment of {AUTH} changed since the end-to-end tests ran")
    finally:
        run_vso(root, "destroy", "--all", "--environment", "both", check=True)


def production_held(root) -> str:
    """Why `vso deploy` of Todos to production did nothing."""
    held = outcomes(run_vso(root, "deploy", "--slice-id", TODOS, "--environment", "production", "--json"))
    assert held[TODOS]["result"] == "skipped", held
    return held[TODOS]["detail"]


def environ_of(pid: int) -> dict[str, str]:
    items = open(f"/proc/{pid}/environ", "rb").read().decode().split("\0")
    return dict(item.split("=", 1) for item in items if "=" in item)


def wired_to_production_auth(project) -> None:
    """Todos serves each environment calling Auth in that environment, and its end-to-end test walked
    the one dependency path (Auth -> Todos) in test."""
    state = load_state(project)
    for environment in ("test", "production"):
        endpoints = state["deployments"][environment]["endpoints"]
        auth_url, todos = endpoints[AUTH]["url"], endpoints[TODOS]
        assert environ_of(todos["pid"])["VSO_DEP_AUTH_URL"] == auth_url
        assert httpx.get(f"{todos['url']}/health/dependencies").json() == {
            "Auth": {"status": "ok", "url": auth_url, "dependencies": {}}}
        assert "VSO_DEP_AUTH_URL" not in environ_of(endpoints[REPORTS]["pid"])  # Reports calls nothing
    e2e = state["slices"][TODOS]["integration"]["e2e"]
    assert e2e["passed"] and e2e["paths"] == [{"path": ["Auth", "Todos"], "result": "ok"}], e2e
    assert e2e["upstream"] == {AUTH: state["deployments"]["test"]["endpoints"][AUTH]["id"]}
    assert "e2e" not in state["slices"][AUTH]["integration"]
