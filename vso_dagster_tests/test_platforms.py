"""Platforms hetzner (real terraform, offline module) and modal (real SDK and CLI where it can run
here, a stand-in `modal` where it would need Modal's API), through the CLI and Dagster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import httpx
import pytest

from vso_dagster.core import deploy_modal
from vso_dagster.core.deploy import destroy
from vso_dagster.core.deployments import deployments
from vso_dagster.core.errors import VSOError
from vso_dagster.core.terraform import INSTALL_HINT, REDACTED

from .conftest import TODO_SPEC, commit, commit_on_branch, init_decompose_commit

SLICE = "slice-001-auth"
HERE = Path(__file__).parent

# STAND-IN for the generated Hetzner module: the hcloud provider cannot be downloaded here, so
# Terraform's built-in terraform_data stands in for hcloud_server, and the "server" it reports is a
# service the test runs on loopback. The runner, the CLI and the state are the real ones.
STANDIN_HETZNER_MODULE = """
variable "hcloud_token" {
  type      = string
  sensitive = true
}
variable "environment" { type = string }
variable "server_type" { type = string }
variable "location" { type = string }
variable "standin_endpoint" { type = string }
variable "fail" {
  type    = bool
  default = false
}

# Replaced on every apply, so its id is unknown until then: the precondition below fails in apply, not plan.
resource "terraform_data" "stamp" {
  triggers_replace = timestamp()
}

resource "terraform_data" "server" {
  input = "${var.environment}-${var.server_type}"
  lifecycle {
    precondition {
      condition     = !(var.fail && terraform_data.stamp.id != "")
      error_message = "Failing on purpose."
    }
  }
}

output "server_ip" { value = "127.0.0.1" }
output "endpoint_url" { value = var.standin_endpoint }
output "root_password" {
  value     = "${terraform_data.server.output}-not-for-logs"
  sensitive = true
}
"""


def serve(service: Path) -> tuple[subprocess.Popen, str]:
    """The slice's service on loopback: what the stand-in module's server would be."""
    from vso_dagster.core.deploy_local import free_port
    from vso_dagster.core.deployments import wait_healthy

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "main:app", "--port", str(port)], cwd=service,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    assert wait_healthy(url, 20) is None
    return process, url


def built(project, slice_id: str) -> Path:
    """The slice implemented by the scaffold agent; returns its directory on the slice's branch."""
    from vso_dagster.core.decompose import load_plan
    from vso_dagster.core.implement import implement_slice

    return implement_slice(project, load_plan(project), slice_id).worktree.slice_dir


def standin_hetzner(project, slice_id: str) -> tuple[subprocess.Popen, str]:
    """The built slice's terraform/ replaced by the stand-in module, whose 'server' then serves."""
    slice_dir = built(project, slice_id)
    for tf in (slice_dir / "terraform").glob("*.tf"):
        tf.unlink()
    (slice_dir / "terraform/main.tf").write_text(STANDIN_HETZNER_MODULE)
    commit_on_branch(project, slice_id)
    process, url = serve(slice_dir / "service")
    tfvars = project.root / "deployments/test/terraform.tfvars"
    tfvars.write_text(tfvars.read_text() + f'standin_endpoint = "{url}"\n')
    return process, url


@pytest.fixture
def hetzner(committed, monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", "not-a-real-token")
    process, url = standin_hetzner(committed, SLICE)
    yield committed, url
    process.terminate()
    process.wait()


def tfstate_resources(project, environment="test") -> list:
    state = project.state_dir / f"terraform/{SLICE}/{environment}/terraform.tfstate"
    return json.loads(state.read_text())["resources"]


def materializations(project, asset: str) -> list[dict]:
    from vso_dagster.lib.instance import use_project_instance

    use_project_instance(project)
    with dg.DagsterInstance.get() as instance:
        events = instance.fetch_materializations(dg.AssetKey(asset), limit=10).records
        return [{k: v.value for k, v in e.asset_materialization.metadata.items()} for e in events]


def test_hetzner_deploy_runs_terraform_and_records_the_endpoint(hetzner, vso):
    project, url = hetzner
    deployed = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert deployed.exit_code == 0, deployed.output
    assert f"test: {url}" in deployed.output
    record = deployments(project, "test")[SLICE]
    assert record["platform"] == "hetzner" and record["url"] == url
    assert record["outputs"] == {"server_ip": "127.0.0.1", "endpoint_url": url, "root_password": REDACTED}
    assert sorted(r["name"] for r in tfstate_resources(project)) == ["server", "stamp"]
    [metadata] = materializations(project, "test_deployment")
    assert metadata["platform"] == "hetzner" and metadata["endpoint"] == url
    assert metadata["terraform_outputs"]["root_password"] == REDACTED
    log = (project.logs_dir / "deployment.log").read_text()
    assert "terraform apply: Apply complete! Resources: 2 added" in log and f"serves test at {url}" in log

    destroyed = vso("destroy", "--slice-id", SLICE, "--environment", "test")
    assert destroyed.exit_code == 0 and "no longer serves test" in destroyed.output
    assert tfstate_resources(project) == [] and deployments(project, "test") == {}
    assert "terraform destroy: Destroy complete! Resources: 2 destroyed" in (
        project.logs_dir / "deployment.log").read_text()


def test_a_failing_apply_keeps_the_last_good_deployment(hetzner, vso):
    project, _ = hetzner
    first = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert first.exit_code == 0, first.output
    good = deployments(project, "test")[SLICE]
    tfvars = project.root / "deployments/test/terraform.tfvars"
    tfvars.write_text(tfvars.read_text() + "fail = true\n")
    failed = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert failed.exit_code == 1 and "terraform apply failed" in failed.output
    assert "Failing on purpose." in failed.output
    assert deployments(project, "test")[SLICE] == good
    assert any(r["name"] == "server" for r in tfstate_resources(project))  # Terraform kept the server
    destroy(project, SLICE, "test")


def test_deploying_without_a_hetzner_token_says_where_it_goes(hetzner, vso, monkeypatch):
    project, _ = hetzner
    monkeypatch.delenv("HCLOUD_TOKEN")
    result = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert result.exit_code == 1 and "HCLOUD_TOKEN is not set" in result.output
    assert not (project.state_dir / "terraform").exists() and deployments(project, "test") == {}


def test_deploying_without_terraform_says_how_to_install_it(hetzner, vso, monkeypatch, tmp_path):
    project, _ = hetzner
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(subprocess.check_output(["which", "git"], text=True).strip())
    monkeypatch.setenv("PATH", str(bin_dir))
    before = project.state_file.read_bytes()
    result = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert result.exit_code == 1 and "terraform is not installed" in result.output
    assert "install Terraform" in INSTALL_HINT
    assert project.state_file.read_bytes() == before


def test_a_slice_deploys_only_once_its_unit_tests_passed(committed, vso):
    result = vso("deploy", "--slice-id", SLICE, "--environment", "test")
    assert result.exit_code == 1 and "not built yet (status draft)" in result.output
    assert deployments(committed, "test") == {}


def test_switching_platform_needs_a_destroy_first(hetzner, vso):
    project, _ = hetzner
    assert vso("deploy", "--slice-id", SLICE, "--platform", "local", "--environment", "test").exit_code == 0
    result = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert result.exit_code == 1 and "already serves test on local" in result.output
    assert vso("destroy", "--slice-id", SLICE, "--environment", "test").exit_code == 0


# --- Modal ---------------------------------------------------------------------------------------

@pytest.fixture
def modal_project(todo_project):
    """The Todo project with Auth on platform modal, decomposed and committed."""
    auth = "**Auth**: Sign-up, login and tokens"
    todo_project.master_spec.write_text(TODO_SPEC.replace(auth, f"{auth} (platform: modal)"))
    return init_decompose_commit(todo_project)


@pytest.fixture
def standin_modal(tmp_path, monkeypatch):
    """A `modal` executable first on PATH that runs standin_modal.py; yields its call log."""
    bin_dir = tmp_path / "standin-bin"
    bin_dir.mkdir()
    script = bin_dir / "modal"
    script.write_text(f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(HERE / 'standin_modal.py')!r}, "
                      f"run_name='__main__')\n")
    script.chmod(0o755)
    calls = tmp_path / "modal-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_MODAL_LOG", str(calls))
    monkeypatch.setenv("STANDIN_MODAL_STATE", str(tmp_path / "standin-modal-state"))
    yield lambda: [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    for pid_file in (tmp_path / "standin-modal-state").glob("*.pid"):
        subprocess.run(["kill", "--", f"-{pid_file.read_text()}"], capture_output=True)


def test_the_generated_modal_app_imports_with_the_real_sdk_and_serves_locally(modal_project, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no Modal config or token of the user's
    app_file = modal_project.slice_dir(SLICE) / "modal/app.py"
    code = textwrap.dedent(f"""
        import importlib.util
        from fastapi.testclient import TestClient
        spec = importlib.util.spec_from_file_location("slice_app", {str(app_file)!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.app.name == "vso-{SLICE}"
        client = TestClient(module.serve.local())
        print(client.get("/health").json()["slice"], client.post("/auth/login", json={{}}).status_code)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [SLICE, "501"]  # the skeleton answers; an implementation replaces it


def test_modal_deploy_and_stop_with_the_environment_set(modal_project, standin_modal, vso):
    app_file = built(modal_project, SLICE) / "modal/app.py"
    deployed = vso("deploy", "--slice-id", SLICE, "--platform", "modal", "--environment", "test")
    assert deployed.exit_code == 0, deployed.output
    record = deployments(modal_project, "test")[SLICE]
    assert record["platform"] == "modal" and record["app"] == f"vso-{SLICE}"
    assert httpx.get(f"{record['url']}/health").json()["slice"] == SLICE
    assert httpx.post(f"{record['url']}/auth/login", json={"email": "a@b.c"}).status_code == 201  # the build
    assert standin_modal() == [{"argv": ["deploy", str(app_file)], "MODAL_ENVIRONMENT": "test",
                                "VSO_MODAL_MIN_CONTAINERS": "0", "token_given": False}]
    assert "modal deploy" in (modal_project.logs_dir / "deployment.log").read_text()

    assert vso("destroy", "--slice-id", SLICE, "--environment", "test").exit_code == 0
    assert standin_modal()[-1]["argv"] == ["app", "stop", "--yes", f"vso-{SLICE}"]
    assert standin_modal()[-1]["MODAL_ENVIRONMENT"] == "test"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{record['url']}/health", timeout=2)
    assert deployments(modal_project, "test") == {}


def test_production_uses_the_production_modal_environment_and_warm_containers(modal_project, standin_modal):
    config = modal_project.root / "deployments/production/modal_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "environment": "prod-eu"}))
    built(modal_project, SLICE)
    deploy_modal.deploy_modal(modal_project, SLICE, "production")
    [call] = standin_modal()
    assert call["MODAL_ENVIRONMENT"] == "prod-eu" and call["VSO_MODAL_MIN_CONTAINERS"] == "1"
    destroy(modal_project, SLICE, "production")


def test_modal_without_a_token_fails_clearly_with_the_real_cli(modal_project, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    built(modal_project, SLICE)
    before = modal_project.state_file.read_bytes()
    with pytest.raises(VSOError) as info:
        deploy_modal.deploy_modal(modal_project, SLICE, "test")
    assert str(info.value) == deploy_modal.TOKEN_HINT
    assert modal_project.state_file.read_bytes() == before


def test_a_modal_cli_that_never_answers_is_cut_off(modal_project, monkeypatch, tmp_path):
    built(modal_project, SLICE)
    bin_dir = tmp_path / "hang-bin"
    bin_dir.mkdir()
    (bin_dir / "modal").write_text("#!/bin/sh\nexec sleep 600\n")
    (bin_dir / "modal").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(deploy_modal, "DEPLOY_TIMEOUT_S", 1.0)
    with pytest.raises(VSOError, match="did not finish within 1s"):
        deploy_modal.deploy_modal(modal_project, SLICE, "test")
    assert deployments(modal_project, "test") == {}


def test_a_slice_without_a_modal_app_is_refused_clearly(committed):
    built(committed, SLICE)
    with pytest.raises(VSOError, match="modal/app.py: this slice has no Modal app"):
        deploy_modal.deploy_modal(committed, SLICE, "test")


# --- Secrets ---------------------------------------------------------------------------------------

CANARIES = {"HCLOUD_TOKEN": "canary-hcloud-5d1e8b", "MODAL_TOKEN_ID": "ak-canary-0c77a1",
            "MODAL_TOKEN_SECRET": "as-canary-93be40"}


def test_tokens_appear_nowhere(modal_project, standin_modal, vso, monkeypatch):
    """Deploy on both cloud platforms with canary tokens, then search everything VSO and Dagster
    wrote, and git's history: no canary anywhere (the stand-in modal even prints its token)."""
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    todos = "slice-002-todos"
    built(modal_project, SLICE)
    process, _ = standin_hetzner(modal_project, todos)
    try:
        for slice_id, platform in ((SLICE, "modal"), (todos, "hetzner")):
            result = vso("deploy", "--slice-id", slice_id, "--platform", platform, "--environment", "test", "-v")
            assert result.exit_code == 0, result.output
            assert not any(c in result.output for c in CANARIES.values())
        assert "Using token *** (stand-in)" in (modal_project.logs_dir / "deployment.log").read_text()
        commit(modal_project.root, "after deploying")
        assert vso("destroy", "--all", "--environment", "test").exit_code == 0
    finally:
        process.terminate()

    written = b"".join(p.read_bytes() for p in modal_project.root.rglob("*") if p.is_file() and ".git" not in p.parts)
    history = subprocess.run(["git", "-C", str(modal_project.root), "log", "--all", "-p", "--format=%H %s%n%b"],
                             capture_output=True, check=True).stdout
    metadata = json.dumps([materializations(modal_project, "test_deployment")], default=str)
    with dg.DagsterInstance.get() as instance:
        events = " ".join(str(e) for run in instance.get_runs() for e in instance.all_logs(run.run_id))
    assert "terraform apply" in events  # the run log holds the deploy's own lines…
    for value in CANARIES.values():  # …and no token, in any of these
        assert value.encode() not in written
        assert value.encode() not in history
        assert value not in metadata and value not in events
    assert (modal_project.state_dir / "dagster").is_dir() and (modal_project.logs_dir / "deployment.log").exists()


def test_deploy_all_planned_sends_each_slice_to_the_platform_its_plan_names(modal_project, standin_modal, vso,
                                                                              monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN", raising=False)
    monkeypatch.delenv("TF_VAR_hcloud_token", raising=False)
    built(modal_project, SLICE)  # Auth: platform modal in the master spec
    built(modal_project, "slice-002-todos")  # Todos: the default, hetzner
    try:
        result = vso("deploy", "--all", "--platform", "planned", "--environment", "test")
        assert result.exit_code == 1  # Todos cannot reach Hetzner from here: no token, nothing created
        assert deployments(modal_project, "test")[SLICE]["platform"] == "modal"
        assert "HCLOUD_TOKEN is not set" in result.output
        assert "slice-002-todos" not in deployments(modal_project, "test")
        assert [call["argv"][0] for call in standin_modal()] == ["deploy"]
    finally:
        destroy(modal_project, SLICE, "test")
