"""Dagster's own view of what is stale, as the UI shows it, agrees with VSO's: after one component of
the master spec changes and `vso decompose` runs, only that slice's downstream is out of date, and
each slice partition's metadata describes that slice only."""

from __future__ import annotations

import subprocess

from .conftest import commit, run_vso
from .dagster_ui import running_ui

SLICES = ["slice-001-auth", "slice-002-todos", "slice-003-reports"]
STALE_STATUS = """query($path: [String!]!, $partitions: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode { staleStatusByPartition(partitions: $partitions) } }
}"""
LAST_METADATA = """query($path: [String!]!, $partition: String!) {
  assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode {
    assetMaterializations(partitions: [$partition], limit: 1) {
      metadataEntries { label ... on TextMetadataEntry { text } ... on IntMetadataEntry { intValue } }
    }
  } }
}"""


def test_one_changed_component_makes_only_its_slice_stale_in_dagster(todo_project):
    subprocess.run(["git", "init", "-q", "-b", "main", str(todo_project.root)], check=True)
    run_vso(todo_project.root, "init", check=True)
    run_vso(todo_project.root, "decompose", check=True)
    commit(todo_project.root)
    run_vso(todo_project.root, "orchestrate", "--all", check=True)
    try:
        run_vso(todo_project.root, "deploy", "--all", check=True)
        spec = todo_project.master_spec
        spec.write_text(spec.read_text().replace("Todo items (depends on", "Todo items with due dates (depends on"))
        commit(todo_project.root, "todos get due dates")
        decomposed = run_vso(todo_project.root, "decompose", check=True)
        assert "3 slices, 1 written or refreshed" in decomposed.stdout
        check_dagsters_view(todo_project)
        # The nightly schedule's rules see the same: only that slice, from its implementation on.
        dry = run_vso(todo_project.root, "nightly", "--dry-run", check=True)
        listed = [line for line in dry.stdout.splitlines() if "slice-00" in line]
        assert len(listed) == 1 and "slice-002-todos" in listed[0] and "slice_implementation" in listed[0], \
            dry.stdout
    finally:
        run_vso(todo_project.root, "destroy", "--all", "--environment", "both", check=True)


def check_dagsters_view(todo_project) -> None:
    with running_ui(todo_project) as ui:
        def statuses(asset: str) -> dict[str, str]:
            node = ui.graphql(STALE_STATUS, path=[asset], partitions=SLICES)["assetNodeOrError"]
            return dict(zip(SLICES, node["staleStatusByPartition"], strict=True))

        assert statuses("slice_spec") == dict.fromkeys(SLICES, "FRESH")
        assert statuses("slice_implementation") == {"slice-001-auth": "FRESH", "slice-002-todos": "STALE",
                                                    "slice-003-reports": "FRESH"}
        for stage in ("test_deployment", "integration_tests", "production_deployment"):
            assert statuses(stage) == dict.fromkeys(SLICES, "FRESH"), stage  # built from what was current

        def metadata(partition: str) -> dict:
            node = ui.graphql(LAST_METADATA, path=["slice_spec"], partition=partition)["assetNodeOrError"]
            [materialization] = node["assetMaterializations"]
            return {e["label"]: e.get("text", e.get("intValue")) for e in materialization["metadataEntries"]}

        todos, auth = metadata("slice-002-todos"), metadata("slice-001-auth")
        assert (todos["component"], todos["version"]) == ("Todos", "1.0.1")
        assert todos["files_written"] > 0
        assert (auth["component"], auth["version"]) == ("Auth", "1.0.0")
