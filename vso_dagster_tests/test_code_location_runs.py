"""Every run the `vso` command starts is a run of the code location `vso`: the webserver `vso ui`
serves lists it under its job and re-executes it, and an instance whose runs go through the daemon's
queue gets them there, with the command waiting for each."""

from __future__ import annotations

import dagster as dg

from vso_dagster.core.base.project import Project

from .conftest import run_vso
from .dagster_ui import running_ui

JOB_RUNS = """query($job: String!) {
  pipelineOrError(params: {repositoryLocationName: "vso", repositoryName: "__repository__", pipelineName: $job}) {
    __typename ... on Pipeline { runs { runId status } }
  }
}"""
REEXECUTE = """mutation($parent: String!) {
  launchPipelineReexecution(reexecutionParams: {parentRunId: $parent, strategy: ALL_STEPS}) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  }
}"""


def runs_of(project: Project, job_name: str) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        return [r for r in instance.get_runs() if r.job_name == job_name]


def test_a_cli_run_shows_under_its_job_and_re_executes_from_the_ui(todo_project):
    decomposed = run_vso(todo_project.root, "decompose")
    assert decomposed.returncode == 0, decomposed.stderr
    [plan_run] = runs_of(todo_project, "vso_plan")
    [specs_run] = runs_of(todo_project, "vso_slice_specs")
    spec = todo_project.slice_dir("slice-002-todos") / "spec.md"
    spec.unlink()  # what re-executing the slice specs run must write again

    with running_ui(todo_project) as ui:
        locations = ui.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name } } } }")
        assert [e["name"] for e in locations["workspaceOrError"]["locationEntries"]] == ["vso"]
        for run in (plan_run, specs_run):
            listed = ui.graphql(JOB_RUNS, job=run.job_name)["pipelineOrError"]
            assert listed["__typename"] == "Pipeline", listed
            assert [r["runId"] for r in listed["runs"]] == [run.run_id]

        launched = ui.graphql(REEXECUTE, parent=specs_run.run_id)["launchPipelineReexecution"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        child = launched["run"]["runId"]
        assert ui.wait_for_run(child) == "SUCCESS"
        assert {r["runId"] for r in ui.graphql(JOB_RUNS, job="vso_slice_specs")["pipelineOrError"]["runs"]} == {
            specs_run.run_id, child}

    assert spec.exists()
    [rerun] = [r for r in runs_of(todo_project, "vso_slice_specs") if r.run_id == child]
    assert rerun.parent_run_id == specs_run.run_id
    assert rerun.tags["dagster/asset_partition_range_start"] == "slice-001-auth"


def test_with_launch_submit_the_runs_go_through_the_daemons_queue(todo_project):
    assert run_vso(todo_project.root, "init").returncode == 0
    config = todo_project.state_dir / "config.toml"
    config.write_text(config.read_text().replace('launch = "auto"', 'launch = "submit"'))
    with running_ui(todo_project):  # its daemon dequeues and launches what the command submits
        decomposed = run_vso(todo_project.root, "decompose")
    assert decomposed.returncode == 0, decomposed.stderr
    assert "3 slices, 3 written or refreshed" in decomposed.stdout
    assert (todo_project.slice_dir("slice-003-reports") / "spec.md").exists()
    with dg.DagsterInstance.from_config(str(todo_project.dagster_home)) as instance:
        runs = instance.get_runs()
        assert {r.job_name for r in runs} == {"vso_plan", "vso_slice_specs", "vso_master_sync"}
        for run in runs:
            assert run.status == dg.DagsterRunStatus.SUCCESS
            assert "vso/process" not in run.tags  # not executed by the `vso` process itself
            kinds = {e.dagster_event.event_type for e in instance.all_logs(run.run_id) if e.is_dagster_event}
            # Queued, then launched by the daemon.
            assert {dg.DagsterEventType.RUN_ENQUEUED, dg.DagsterEventType.RUN_STARTING} <= kinds
