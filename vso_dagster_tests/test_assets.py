"""The Dagster layer on a real (ephemeral) instance: partitions, data versions, single-run backfills."""

from __future__ import annotations

import dagster as dg
import pytest

from vso_dagster.launch.decompose import contiguous_ranges, decompose
from vso_dagster.lib.resources import VSOProject

from .conftest import TODO_SPEC, defined, tree_digest

ASSETS = [master_spec, slice_plan, slice_spec] = defined("master_spec", "slice_plan", "slice_spec")


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def resources(project, tmp_path):
    return {"vso": VSOProject(root=str(project.root)),
            "io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "storage"))}


def materialize(project, tmp_path, instance, selection, **kwargs):
    return dg.materialize(ASSETS, selection=selection, instance=instance, resources=resources(project, tmp_path),
                          raise_on_error=False, **kwargs)


def latest_data_version(instance, key: str) -> str:
    event = instance.get_latest_materialization_event(dg.AssetKey(key))
    return event.asset_materialization.tags["dagster/data_version"]


def test_plan_adds_slice_partitions_and_one_partition_materializes(todo_project, tmp_path, instance):
    assert materialize(todo_project, tmp_path, instance, [master_spec, slice_plan]).success
    assert instance.get_dynamic_partitions("slices") == ["slice-001-auth", "slice-002-todos", "slice-003-reports"]
    result = materialize(todo_project, tmp_path, instance, [slice_spec], partition_key="slice-002-todos")
    assert result.success
    assert [p.name for p in todo_project.slices_dir.iterdir()] == ["slice-002-todos"]
    [mat] = result.asset_materializations_for_node("slice_spec")
    assert mat.partition == "slice-002-todos" and mat.metadata["files_written"].value == 13


def test_master_data_version_ignores_the_generated_section(todo_project, tmp_path, instance):
    materialize(todo_project, tmp_path, instance, [master_spec])
    first = latest_data_version(instance, "master_spec")
    todo_project.master_spec.write_text(TODO_SPEC.replace("<!-- generated -->", "- slice-001-auth: Auth"))
    materialize(todo_project, tmp_path, instance, [master_spec])
    assert latest_data_version(instance, "master_spec") == first
    todo_project.master_spec.write_text(TODO_SPEC.replace('version: "1.0.0"', 'version: "1.1.0"'))
    materialize(todo_project, tmp_path, instance, [master_spec])
    assert latest_data_version(instance, "master_spec") != first


def test_a_bad_spec_fails_the_asset_with_file_and_line(todo_project, tmp_path, instance):
    todo_project.master_spec.write_text(TODO_SPEC.replace("(depends on: Auth)", "(depends on: Nope)"))
    result = materialize(todo_project, tmp_path, instance, [master_spec, slice_plan])
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("master-spec.md:25: component 'Todos' depends on 'Nope'")


def test_retired_slices_keep_their_partition(todo_project, tmp_path, instance):
    materialize(todo_project, tmp_path, instance, [master_spec, slice_plan])
    todo_project.master_spec.write_text(TODO_SPEC.replace("- **Reports**: Weekly summaries. Depends on: Todos\n", "")
                                        .replace("- GET /reports/weekly -> Weekly report\n", ""))
    materialize(todo_project, tmp_path, instance, [master_spec, slice_plan])
    assert "slice-003-reports" in instance.get_dynamic_partitions("slices")
    result = materialize(todo_project, tmp_path, instance, [slice_spec], partition_key="slice-003-reports")
    [mat] = result.asset_materializations_for_node("slice_spec")
    assert mat.metadata["retired"].value is True  # the partition says so of its own slice
    assert not todo_project.slice_dir("slice-003-reports").exists()


def test_decompose_writes_all_slices_in_one_run_then_nothing(todo_project, instance, monkeypatch):
    monkeypatch.setenv("VSO_PROJECT_ROOT", str(todo_project.root))
    report = decompose(todo_project, instance)
    assert report.stale == ["slice-001-auth", "slice-002-todos", "slice-003-reports"]
    assert [instance.get_run_by_id(r).job_name for r in report.runs] == ["vso_plan", "vso_slice_specs",
                                                                          "vso_master_sync"]
    spec_run = instance.get_run_by_id(report.runs[1])  # one single-run backfill over all three partitions
    assert spec_run.tags["dagster/asset_partition_range_start"] == "slice-001-auth"
    assert spec_run.tags["dagster/asset_partition_range_end"] == "slice-003-reports"
    before = tree_digest(todo_project.slices_dir)
    again = decompose(todo_project, instance)
    assert again.stale == [] and again.runs == [], "an unchanged spec starts no run at all"
    assert tree_digest(todo_project.slices_dir) == before


def test_stale_keys_group_into_contiguous_ranges():
    order = ["a", "b", "c", "d", "e"]
    assert contiguous_ranges(["b", "c", "e"], order) == [("b", "c"), ("e", "e")]
    assert contiguous_ranges([], order) == []
