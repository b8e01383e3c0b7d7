"""VSO as a Dagster Component, in a real `dg` project: a user who already has a Dagster project adds
two VSO projects with `dg scaffold defs`, and Dagster's own `dg check defs`, `dg list defs` and
`dg launch` work there, each project under its own prefix."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from vso_dagster.core.base.project import Project

from .conftest import TODO_SPEC, run_vso, user_env, venv_bin

FIXTURE = Path(__file__).parent / "fixtures" / "dg_project"
COMPONENT = "vso_dagster.component.VSOComponent"
AUTH = "slice-001-auth"


def dg_cli(deploy: Path, *args: str) -> subprocess.CompletedProcess:
    """The real `dg` in the user's Dagster project, with its own instance."""
    env = user_env() | {"DAGSTER_HOME": str(deploy / ".dagster"), "COLUMNS": "200"}
    return subprocess.run([venv_bin("dg"), *args], cwd=deploy, env=env, capture_output=True, text=True,
                          timeout=600)


def vso_project(root: Path) -> Project:
    root.mkdir()
    run_vso(root, "init", "--title", "Todo", check=True)
    (root / "master-spec.md").write_text(TODO_SPEC)
    return Project.at(root)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Path:
    """The user's Dagster project with two VSO projects added, both planning the same slice IDs."""
    base = tmp_path_factory.mktemp("component")
    deploy = base / "deploy"
    shutil.copytree(FIXTURE, deploy)
    (deploy / ".dagster").mkdir()
    for name in ("billing", "shop"):
        vso_project(base / name)
        added = dg_cli(deploy, "scaffold", "defs", COMPONENT, name, "--project-root", f"../{name}",
                       "--key-prefix", name)
        assert added.returncode == 0, added.stdout + added.stderr
    # The shop's assets get one group and an owner: the two lines the scaffold leaves commented out.
    shop_yaml = deploy / "deploy_defs" / "defs" / "shop" / "defs.yaml"
    shop_yaml.write_text(shop_yaml.read_text().replace("  # group:", "  group:").replace("  # owners:", "  owners:"))
    return deploy


def test_dg_scaffold_writes_a_defs_yaml_that_finds_the_project_from_its_own_folder(deployment):
    defs_yaml = deployment / "deploy_defs" / "defs" / "billing" / "defs.yaml"
    text = defs_yaml.read_text()
    assert f"type: {COMPONENT}" in text and 'key_prefix: "billing"' in text
    assert 'project_root: "../../../../billing"' in text


def test_dg_check_and_list_show_both_projects_under_their_prefixes_beside_the_users_own(deployment):
    checked = dg_cli(deployment, "check", "defs")
    assert checked.returncode == 0, checked.stderr
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr

    listed = dg_cli(deployment, "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    defs = json.loads(listed.stdout)
    assets = {asset["asset_key"]: asset for asset in defs["assets"]}
    keys = set(assets)
    for prefix in ("billing", "shop"):
        assert {f"{prefix}/master_spec", f"{prefix}/slice_plan", f"{prefix}/slice_spec",
                f"{prefix}/slice_implementation", f"{prefix}/production_deployment"} <= keys
        assert f"{prefix}_vso_plan" in {job["name"] for job in defs["jobs"]}
        assert {f"{prefix}_git_changes", f"{prefix}_implementation_waves"} <= {s["name"] for s in defs["sensors"]}
        assert f"{prefix}_nightly" in {s["name"] for s in defs["schedules"]}
    assert "weekly_report" in keys and "slice_spec" not in keys  # no project took the plain names
    assert {"billing_vso", "shop_vso"} <= {r["name"] for r in defs["resources"]}
    shop, billing = assets["shop/slice_spec"], assets["billing/slice_spec"]
    assert shop["group_name"] == "shop" and shop["owners"] == [{"team": "shop"}]
    assert billing["group_name"] == "decomposition" and not billing["owners"]


def test_dg_launch_builds_one_projects_slice_partition_and_leaves_the_other_alone(deployment):
    billing, shop = Project.at(deployment.parent / "billing"), Project.at(deployment.parent / "shop")
    planned = dg_cli(deployment, "launch", "--job", "billing_vso_plan")
    assert planned.returncode == 0, planned.stderr[-3000:]
    written = dg_cli(deployment, "launch", "--assets", "billing/slice_spec", "--partition", AUTH)
    assert written.returncode == 0, written.stderr[-3000:]

    assert (billing.slice_dir(AUTH) / "spec.md").is_file()
    assert not shop.slices_dir.exists() or not any(shop.slices_dir.iterdir())
    with dg.DagsterInstance.from_config(str(deployment / ".dagster")) as instance:
        # Both projects plan slice-001-auth; only billing's partitions hold it.
        assert AUTH in instance.get_dynamic_partitions("billing_slices")
        assert instance.get_dynamic_partitions("shop_slices") == []
        event = instance.get_latest_materialization_event(dg.AssetKey(["billing", "slice_spec"]))
        assert event.dagster_event.partition == AUTH
        assert event.asset_materialization.metadata["component"].value == "Auth"
        assert instance.get_latest_materialization_event(dg.AssetKey(["shop", "slice_spec"])) is None


def check_with(deployment: Path, name: str, project_root: str, key_prefix: str) -> str:
    """What `dg check defs` says with one more VSO project, given by hand; the deployment is left as it was."""
    folder = deployment / "deploy_defs" / "defs" / name
    folder.mkdir()
    try:
        (folder / "defs.yaml").write_text(f"type: {COMPONENT}\nattributes:\n  project_root: {project_root}\n"
                                          f"  key_prefix: {key_prefix}\n")
        checked = dg_cli(deployment, "check", "defs")
        assert checked.returncode != 0
        return checked.stdout + checked.stderr
    finally:
        shutil.rmtree(folder)


def test_a_wrong_prefix_is_refused_at_its_line_in_defs_yaml(deployment):
    said = check_with(deployment, "bad", "../../../../shop", "my-shop")
    assert "attributes.key_prefix at" in said and "bad/defs.yaml:4" in said


def test_a_project_root_that_is_no_vso_project_is_refused_by_name(deployment):
    scaffolded = dg_cli(deployment, "scaffold", "defs", COMPONENT, "nowhere", "--project-root", "../nowhere")
    assert scaffolded.returncode != 0
    assert "nowhere is not a VSO project" in scaffolded.stdout + scaffolded.stderr
    assert not (deployment / "deploy_defs" / "defs" / "nowhere").exists()

    said = check_with(deployment, "moved", "../../../../moved", "moved")
    assert "moved/defs.yaml: project_root:" in said and "is not a VSO project" in said
