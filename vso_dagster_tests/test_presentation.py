"""What the UI shows of VSO's assets beside the assets themselves: the slice graph as a table, the
master spec's own path, owners and a group from the project's config, descriptions that say what
each sensor and the schedule cost, and code references linked to the hosted source."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import dagster as dg

from vso_dagster.lib.presentation import source_link, with_code_references

from .conftest import commit, run_vso
from .dagster_ui import running_ui

ASSETS = """{ assetNodes { assetKey { path } groupName owners { ... on TeamAssetOwner { team } }
  assetMaterializations(limit: 1) { metadataEntries { label ... on MarkdownMetadataEntry { mdStr }
                                                      ... on PathMetadataEntry { path } } } } }"""
AUTOMATION = """{ sensorsOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "vso"})
  { ... on Sensors { results { name description } } }
  schedulesOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "vso"})
  { ... on Schedules { results { name description } } } }"""


def test_the_ui_shows_the_slice_graph_the_master_file_owners_and_what_automation_costs(todo_project):
    run_vso(todo_project.root, "init", check=True)
    config = todo_project.state_dir / "config.toml"
    config.write_text(config.read_text().replace('# owners = ["team:platform"]', 'owners = ["team:shop"]')
                      .replace('# group = ""', 'group = "shop"'))
    run_vso(todo_project.root, "decompose", check=True)
    with running_ui(todo_project) as ui:
        nodes = {n["assetKey"]["path"][0]: n for n in ui.graphql(ASSETS)["assetNodes"]}
        automation = ui.graphql(AUTOMATION)
    assert {n["groupName"] for n in nodes.values()} == {"shop"}
    assert all(n["owners"] == [{"team": "shop"}] for n in nodes.values())

    def metadata(asset: str) -> dict:
        [materialization] = nodes[asset]["assetMaterializations"]
        return {e["label"]: e.get("mdStr") or e.get("path") for e in materialization["metadataEntries"]}

    assert metadata("master_spec")["path"] == str(todo_project.master_spec)
    table = metadata("slice_plan")["dependencies"].splitlines()
    assert table[0] == "| slice | component | depends on | platform |"
    assert "| slice-002-todos | Todos | slice-001-auth | hetzner |" in table

    described = {s["name"]: s["description"] for kind in ("sensorsOrError", "schedulesOrError")
                 for s in automation[kind]["results"]}
    assert set(described) == {"implementation_waves", "git_changes", "nightly", "deployment_health", "alerts"}
    # What starts agent teams says it costs money; the health probe and the alerts start none and say so.
    assert all("COSTS MONEY" in described[name] for name in ("implementation_waves", "git_changes", "nightly"))
    assert all("costs no money" in described[name] for name in ("deployment_health", "alerts"))
    # Only the alerts are on as they come, and say so.
    assert all("Off until you turn it on" in text for name, text in described.items() if name != "alerts")
    assert "On by default; it posts nothing until a webhook is configured" in described["alerts"]


def test_code_references_link_to_the_commit_of_a_hosted_clone(tmp_path: Path):
    clone = tmp_path / "vso"
    (clone / "pkg").mkdir(parents=True)
    (clone / "pkg" / "assets.py").write_text("import dagster as dg\n\n\n@dg.asset\ndef an_asset() -> None:\n"
                                             "    pass\n")
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    assert source_link(clone / "pkg") is None  # no remote: local references only
    subprocess.run(["git", "-C", str(clone), "remote", "add", "origin", "git@github.com:acme/vso.git"], check=True)
    assert source_link(clone / "pkg") is None  # no commit yet
    commit(clone, "first")
    link = source_link(clone / "pkg")
    head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert (link.url, link.commit, link.root) == ("https://github.com/acme/vso", head, clone)

    spec = importlib.util.spec_from_file_location("clone_assets", clone / "pkg" / "assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    [linked] = with_code_references([module.an_asset], link)
    [reference] = linked.specs_by_key[dg.AssetKey("an_asset")].metadata["dagster/code_references"].code_references
    assert reference.url == f"https://github.com/acme/vso/tree/{head}/pkg/assets.py#L4"  # the decorator's line
