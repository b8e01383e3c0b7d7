"""slice_implementation and its unit_tests check, on real git worktrees and a real Dagster instance."""

from __future__ import annotations

import subprocess

import dagster as dg
import pytest

from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state, mark_implemented
from vso_dagster.core.base.worktrees import git
from vso_dagster.core.decomposition.decompose import decompose_project
from vso_dagster.core.implementation.implement import implement_slice, priorities
from vso_dagster.lib.resources import VSOProject

from .conftest import commit, defined, sensor_tick


def test_scaffold_implements_a_slice_on_its_own_branch_and_worktree(committed):
    done = implement_slice(committed, load_plan(committed), "slice-001-auth")
    assert done.tests.green, done.tests.summary()
    assert done.worktree.branch == "slice-001-auth-v1.0.0"
    assert done.worktree.path == committed.state_dir / "worktrees/slice-001-auth"
    assert git(done.worktree.path, "rev-parse", "--abbrev-ref", "HEAD") == "slice-001-auth-v1.0.0"
    assert git(committed.root, "log", "-1", "--format=%s", "slice-001-auth-v1.0.0") == (
        "slice-001-auth: implementation by the scaffold agent")
    assert done.diff["files"] == 1 and done.diff["insertions"] > 30  # a whole service, only the kinds it needs
    assert load_state(committed)["slices"]["slice-001-auth"]["status"] == "implemented"
    # The project's own working tree and branch are untouched; only the state records the new status.
    assert "501" in (committed.slice_dir("slice-001-auth") / "service/main.py").read_text()
    assert git(committed.root, "status", "--porcelain") == ""  # state.json is local, not committed


def test_a_slice_with_unbuilt_dependencies_is_blocked(committed):
    with pytest.raises(VSOError, match="slice-002-todos: blocked by: slice-001-auth"):
        implement_slice(committed, load_plan(committed), "slice-002-todos")
    assert not (committed.state_dir / "worktrees/slice-002-todos").exists()


def test_an_uncommitted_slice_is_refused_with_the_fix(todo_project):
    subprocess.run(["git", "init", "-q", str(todo_project.root)], check=True)
    (todo_project.root / "README").write_text("x")
    commit(todo_project.root, "first")
    plan, _ = decompose_project(todo_project)
    with pytest.raises(VSOError, match=r"vertical-slices/slice-001-auth: not committed; commit the slice"):
        implement_slice(todo_project, plan, "slice-001-auth")


def materialize(project, instance, key: str):
    return dg.materialize(defined("slice_implementation", "unit_tests"), partition_key=key, instance=instance,
                          resources={"vso": VSOProject(root=str(project.root))}, raise_on_error=False)


def test_asset_and_blocking_check_per_partition(committed):
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("slices", ["slice-001-auth", "slice-002-todos", "slice-003-reports"])
        blocked = materialize(committed, instance, "slice-002-todos")
        assert not blocked.success
        failure = next(e for e in blocked.all_events if e.is_step_failure)
        assert "blocked by: slice-001-auth" in failure.step_failure_data.user_failure_data.description

        first = materialize(committed, instance, "slice-001-auth")
        assert first.success
        [mat] = first.asset_materializations_for_node("slice_implementation")
        assert mat.metadata["branch"].value == "slice-001-auth-v1.0.0"
        [check] = first.get_asset_check_evaluations()
        assert check.passed and check.metadata["failed"].value == 0 and check.metadata["passed"].value >= 3

        assert materialize(committed, instance, "slice-002-todos").success


def test_orchestrate_and_test_commands(committed, vso):
    assert vso("orchestrate").exit_code == 2
    blocked = vso("orchestrate", "--slice-id", "slice-002-todos")
    assert blocked.exit_code == 1 and "blocked by: slice-001-auth" in blocked.output

    everything = vso("orchestrate", "--all")
    assert everything.exit_code == 0, everything.output
    statuses = {sid: e["status"] for sid, e in load_state(committed)["slices"].items()}
    assert statuses == dict.fromkeys(["slice-001-auth", "slice-002-todos", "slice-003-reports"], "implemented")
    again = vso("orchestrate", "--all")
    assert again.exit_code == 0 and again.output.count("unchanged") == 3

    tested = vso("test", "--slice-id", "slice-002-todos")
    assert tested.exit_code == 0 and "passed" in tested.output
    with dg.DagsterInstance.from_config(str(committed.dagster_home)) as instance:
        [latest] = instance.get_runs(limit=1)
        assert latest.tags["dagster/partition"] == "slice-002-todos"
        [evaluation] = instance.all_logs(latest.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        data = evaluation.dagster_event.event_specific_data
        assert data.passed and data.partition == "slice-002-todos"

    # A red implementation on the branch turns the check red.
    service = committed.state_dir / "worktrees/slice-002-todos/vertical-slices/slice-002-todos/service/main.py"
    service.write_text(service.read_text().replace("status_code=201", "status_code=500"))  # creating fails
    red = vso("test", "--slice-id", "slice-002-todos")
    assert red.exit_code == 1 and "failed" in red.output and "failing: " in red.output, red.output  # by name


def test_an_implement_run_runs_the_unit_tests_once_and_vso_test_runs_them_again(committed, vso):
    """The blocking check takes the tests its implementation ran, in the same run, on the same commit;
    `vso test` runs them anew. Each run of the slice's tests is counted by a conftest in them."""
    runs = committed.root.parent / "unit-test-runs.log"
    counter = committed.slice_dir("slice-001-auth") / "tests/unit/conftest.py"
    counter.write_text(f"with open({str(runs)!r}, 'a') as log:\n    log.write('ran\\n')\n")
    commit(committed.root, "the slice's unit-test runs are counted")

    built = vso("orchestrate", "--slice-id", "slice-001-auth")
    assert built.exit_code == 0 and "implemented" in built.output, built.output
    assert runs.read_text().splitlines() == ["ran"]
    assert vso("test", "--slice-id", "slice-001-auth").exit_code == 0
    assert runs.read_text().splitlines() == ["ran", "ran"]


def test_a_failed_slice_blocks_its_dependents_in_a_concurrent_wave(committed, vso):
    contract = committed.slice_dir("slice-001-auth") / "tests/unit/test_auth_contract.py"
    contract.write_text(contract.read_text() + "\n\ndef test_added_by_a_person():\n    assert False\n")
    commit(committed.root, "a test the scaffold cannot satisfy")
    result = vso("orchestrate", "--all", "--concurrency", "2")
    assert result.exit_code == 1
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│ slice-" in line}
    assert "failed" in rows["slice-001-auth"] and "unit tests are red" in rows["slice-001-auth"]
    assert "blocked" in rows["slice-002-todos"] and "slice-001-auth" in rows["slice-002-todos"]
    assert "blocked" in rows["slice-003-reports"]
    assert {e["status"] for e in load_state(committed)["slices"].values()} == {"draft"}


def test_priorities_count_what_waits_on_a_slice(committed):
    assert priorities(load_plan(committed)) == {"slice-001-auth": 2, "slice-002-todos": 1, "slice-003-reports": 0}


def test_the_wave_sensor_requests_only_slices_whose_dependencies_are_built(committed):
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("slices", load_plan(committed).slice_ids)  # as slice_plan does
        [request] = sensor_tick("implementation_waves", committed, instance).run_requests
        assert request.partition_key == "slice-001-auth" and request.run_key == "slice-001-auth@1.0.0"
        assert request.tags["dagster/priority"] == "2"
        mark_implemented(committed, "slice-001-auth")
        [request] = sensor_tick("implementation_waves", committed, instance).run_requests
        assert request.partition_key == "slice-002-todos"


def test_the_wave_sensor_skips_with_a_reason_when_nothing_is_ready(todo_project):
    with dg.DagsterInstance.ephemeral() as instance:
        result = sensor_tick("implementation_waves", todo_project, instance)
        assert not result.run_requests and "no slice plan yet" in result.skip_message
