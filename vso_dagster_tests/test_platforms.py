"""Platforms hetzner (real terraform, offline module) and modal (real SDK and CLI where it can run
here, a stand-in `modal` where it would need Modal's API), through the CLI and Dagster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import httpx
import pytest

from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.deployment import modal as deploy_modal
from vso_dagster.core.deployment.deploy import destroy
from vso_dagster.core.deployment.deployments import deployments
from vso_dagster.core.deployment.terraform import INSTALL_HINT, REDACTED

from .conftest import TODO_SPEC, commit, commit_on_branch, init_decompose_commit

SLICE = "slice-001-auth"
HERE = Path(__file__).parent

# STAND-IN for the generated Hetzner module: the hcloud provider cannot be downloaded here, so
# Terraform's built-in terraform_data stands in for hcloud_server. Its "server" boots the way the
# generated user-data.sh does, on loopback (standin_server.py): it fetches repo_url at git_ref, as
# `vso deploy` passed them, and serves the slice from that checkout. The runner, the push, the CLI and
# the state are the real ones.
STANDIN_HETZNER_MODULE = """
variable "hcloud_token" {
  type      = string
  sensitive = true
}
variable "environment" { type = string }
variable "server_type" { type = string }
variable "location" { type = string }
variable "slice_id" {
  type    = string
  default = "SLICE_ID"
}
# As generated: empty by default (destroy passes none), set by `vso deploy`.
variable "repo_url" {
  type    = string
  default = ""
}
variable "git_ref" {
  type    = string
  default = ""
}
# As generated: where each slice this one calls serves, set in the service's environment.
variable "dependency_urls" {
  type    = map(string)
  default = {}
}
variable "standin_port" { type = number }
variable "standin_python" { type = string }
variable "standin_script" { type = string }
variable "standin_checkout" { type = string }
# How long the stand-in "server" takes to come up after it was created: the cloud API's wait.
variable "standin_boot_seconds" {
  type    = number
  default = 0
}
variable "fail" {
  type    = bool
  default = false
}

# Replaced on every apply, so its id is unknown until then: the precondition below fails in apply, not plan.
resource "terraform_data" "stamp" {
  triggers_replace = timestamp()
}

resource "terraform_data" "server" {
  input = {
    name     = "${var.environment}-${var.server_type}"
    python   = var.standin_python
    script   = var.standin_script
    checkout = var.standin_checkout
  }
  # A new commit is a new server, as user_data is for hcloud_server.
  triggers_replace = [var.repo_url, var.git_ref]
  lifecycle {
    precondition {
      condition     = !(var.fail && terraform_data.stamp.id != "")
      error_message = "Failing on purpose."
    }
  }
  provisioner "local-exec" {
    command     = "start"
    environment = var.dependency_urls
    interpreter = [var.standin_python, var.standin_script, var.repo_url, var.git_ref, var.slice_id,
                   var.standin_checkout, tostring(var.standin_port), tostring(var.standin_boot_seconds)]
  }
  provisioner "local-exec" {
    when        = destroy
    command     = "stop"
    interpreter = [self.input.python, self.input.script, self.input.checkout]
  }
}

output "server_ip" { value = "127.0.0.1" }
output "endpoint_url" { value = "http://127.0.0.1:${var.standin_port}" }
output "root_password" {
  value     = "${terraform_data.server.output.name}-not-for-logs"
  sensitive = true
}
"""


def built(project, slice_id: str) -> Path:
    """The slice implemented by the scaffold agent; returns its directory on the slice's branch."""
    from vso_dagster.core.base.plan import load_plan
    from vso_dagster.core.implementation.implement import implement_slice

    return implement_slice(project, load_plan(project), slice_id).worktree.slice_dir


def bare_origin(project) -> Path:
    """A bare repository beside the project, added as its `origin`: the remote a cloud deploy pushes to."""
    remote = project.root.parent / "origin.git"
    if not remote.exists():
        subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
        subprocess.run(["git", "-C", str(project.root), "remote", "add", "origin", str(remote)], check=True)
    return remote


def standin_checkout(project, slice_id: str) -> Path:
    """Where the stand-in 'server' of that slice keeps what it fetched."""
    return project.root.parent / f"server-{slice_id}"


def standin_hetzner(project, slice_id: str) -> str:
    """The built slice's terraform/ replaced by the stand-in module (committed and tested on its
    branch), the project given a bare `origin`; returns the URL the 'server' will serve on."""
    from vso_dagster.core.deployment.local import free_port

    slice_dir = built(project, slice_id)
    for tf in (slice_dir / "terraform").glob("*.tf"):
        tf.unlink()
    (slice_dir / "terraform/main.tf").write_text(STANDIN_HETZNER_MODULE.replace("SLICE_ID", slice_id))
    commit_on_branch(project, slice_id)
    bare_origin(project)
    port = free_port()
    tfvars = project.root / "deployments/test/terraform.tfvars"
    tfvars.write_text(tfvars.read_text() + f'standin_port = {port}\nstandin_python = "{sys.executable}"\n'
                      f'standin_script = "{HERE / "standin_server.py"}"\n'
                      f'standin_checkout = "{standin_checkout(project, slice_id)}"\n')
    return f"http://127.0.0.1:{port}"


def stop_standin_servers(project) -> None:
    for checkout in project.root.parent.glob("server-*"):
        if checkout.is_dir():
            subprocess.run([sys.executable, str(HERE / "standin_server.py"), str(checkout), "stop"], check=True)


@pytest.fixture
def hetzner(committed, monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", "not-a-real-token")
    url = standin_hetzner(committed, SLICE)
    yield committed, url
    stop_standin_servers(committed)


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
    assert destroyed.exit_code == 0 and "no longer serves test" in destroyed.output, destroyed.output
    assert tfstate_resources(project) == [] and deployments(project, "test") == {}
    assert "terraform destroy: Destroy complete! Resources: 2 destroyed" in (
        project.logs_dir / "deployment.log").read_text()


def remote_branch(remote: Path, branch: str) -> str:
    return subprocess.run(["git", "-C", str(remote), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                          capture_output=True, text=True).stdout.strip()


def server_head(project, slice_id: str = SLICE) -> str:
    return subprocess.run(["git", "-C", str(standin_checkout(project, slice_id)), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_the_server_serves_the_tested_commit_it_fetched_from_the_remote(hetzner, vso):
    """The slice's branch exists only here until production: the deploy pushes it, at the tested
    commit, and the 'server' (which fetches repo_url at git_ref, as user-data.sh does) serves that."""
    from vso_dagster.core.base.worktrees import existing_worktree, head

    project, url = hetzner
    worktree = existing_worktree(project, SLICE)
    tested = head(worktree)  # the stand-in module's commit, whose unit tests passed
    assert remote_branch(project.root.parent / "origin.git", worktree.branch) == ""
    deployed = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert deployed.exit_code == 0, deployed.output
    assert remote_branch(project.root.parent / "origin.git", worktree.branch) == tested
    assert server_head(project) == tested
    login = httpx.post(f"{url}/auth/login", json={"email": "a@b.c"})
    assert login.status_code == 201, "the tested implementation serves, not the 501 skeleton"
    record = deployments(project, "test")[SLICE]
    assert record["git_ref"] == record["commit"] == tested
    assert record["repo_url"] == str(project.root.parent / "origin.git")

    # A newer tested commit: pushed, and a new server fetches exactly it.
    (worktree.slice_dir / "service/NOTES.md").write_text("second pass\n")
    newer = commit_on_branch(project, SLICE)
    again = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert again.exit_code == 0, again.output
    assert remote_branch(project.root.parent / "origin.git", worktree.branch) == newer == server_head(project)
    assert (standin_checkout(project, SLICE) / f"vertical-slices/{SLICE}/service/NOTES.md").exists()
    assert vso("destroy", "--slice-id", SLICE, "--environment", "test").exit_code == 0


def test_a_cloud_deploy_with_no_remote_creates_nothing(hetzner, vso):
    project, _ = hetzner
    subprocess.run(["git", "-C", str(project.root), "remote", "remove", "origin"], check=True)
    result = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert result.exit_code == 1
    assert "git remote 'origin' is not configured" in result.output and "git remote add origin URL" in result.output
    assert not (project.state_dir / "terraform").exists() and deployments(project, "test") == {}


def test_a_repo_url_with_a_token_in_it_is_refused_before_anything_is_pushed(hetzner, vso):
    project, _ = hetzner
    config = project.state_dir / "config.toml"
    config.write_text(config.read_text().replace('remote = "origin"\n', 'remote = "origin"\n'
                                                 'repo_url = "https://ghp_secret@github.com/you/app.git"\n'))
    result = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert result.exit_code == 1 and "[deploy] repo_url carries credentials" in result.output
    assert "ghp_secret" not in result.output
    assert not (project.state_dir / "terraform").exists()
    assert subprocess.run(["git", "-C", str(project.root.parent / "origin.git"), "branch"], capture_output=True,
                          text=True).stdout == ""


def test_a_remote_branch_that_moved_on_is_not_overwritten(hetzner, vso, tmp_path):
    """Someone pushed to the slice's branch from elsewhere: VSO never forces; it says what to do."""
    from vso_dagster.core.base.worktrees import existing_worktree

    project, _ = hetzner
    branch = existing_worktree(project, SLICE).branch
    other = tmp_path / "elsewhere"
    subprocess.run(["git", "clone", "--quiet", str(project.root.parent / "origin.git"), str(other)], check=True)
    subprocess.run(["git", "-C", str(other), "-c", "user.name=O", "-c", "user.email=o@o", "commit", "--quiet",
                    "--allow-empty", "-m", "someone else's"], check=False)
    subprocess.run(["git", "-C", str(other), "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], check=True)
    theirs = remote_branch(project.root.parent / "origin.git", branch)
    result = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert result.exit_code == 1 and f"git push origin {branch} failed" in result.output
    assert "has commits this one lacks" in result.output
    assert remote_branch(project.root.parent / "origin.git", branch) == theirs
    assert not (project.state_dir / "terraform").exists()


def test_a_terraform_that_prints_more_than_json_is_a_clear_failure(hetzner, vso, tmp_path, monkeypatch):
    """A wrapper on PATH that adds a banner to `terraform output -json`: no traceback, nothing recorded."""
    project, _ = hetzner
    real = subprocess.check_output(["which", "terraform"], text=True).strip()
    wrapper = tmp_path / "wrapper-bin" / "terraform"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\n[ "$1" = output ] && echo "Acme terraform wrapper v2"\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    result = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "printed something that is not Terraform's JSON object of outputs" in " ".join(result.output.split())
    assert deployments(project, "test") == {}
    destroy(project, SLICE, "test")


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


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill -9", "Ctrl-C"])
def test_a_hetzner_deploy_killed_mid_apply_creates_no_second_server(sig, hetzner, vso):
    """`vso deploy` killed (or interrupted) while Terraform is creating the server: Terraform, out
    of VSO's process group and not interrupted by VSO (an interrupted create is tainted, and made
    again), finishes the apply and saves its state, so the server it created is in that state. The
    next deploy waits for the state lock, finds the server there and records it: no second server,
    none that Terraform does not know (a real cloud would bill a leaked one)."""
    from .test_faults import kill_when, start_vso

    project, url = hetzner
    tfvars = project.root / "deployments/test/terraform.tfvars"
    tfvars.write_text(tfvars.read_text() + "standin_boot_seconds = 3\n")
    server_log = standin_checkout(project, SLICE).with_suffix(".log")
    pid_file = standin_checkout(project, SLICE).with_suffix(".pid")
    kill_when(start_vso(project, "deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test"),
              pid_file.exists, sig=sig)

    again = vso("deploy", "--slice-id", SLICE, "--platform", "hetzner", "--environment", "test")
    assert again.exit_code == 0, again.output
    assert f"test: {url}" in again.output
    assert server_log.read_text().count("stand-in server created") == 1
    assert [r["name"] for r in tfstate_resources(project) if r["name"] == "server"] == ["server"]
    assert not (project.state_dir / f"terraform/{SLICE}/test/.terraform.tfstate.lock.info").exists()
    destroyed = vso("destroy", "--slice-id", SLICE, "--environment", "test")
    assert destroyed.exit_code == 0 and not pid_file.exists()


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
    monkeypatch.setenv("MODAL_STANDIN_LOG", str(calls))
    monkeypatch.setenv("MODAL_STANDIN_STATE", str(tmp_path / "standin-modal-state"))
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
        # Both functions get the wiring and the named secret, the named volume at its path and, Auth owning
        # data (its User), the slice's own volume at /data.
        assert len(module.FUNCTION["secrets"]) == 2 and list(module.FUNCTION["volumes"]) == ["/models", "/data"]
        assert "gpu" not in module.FUNCTION  # Auth asks for none
        client = TestClient(module.serve.local())
        print(client.get("/health").json()["slice"], client.post("/auth/login", json={{}}).status_code)
        try:
            module.process.local({{"batch": 1}})
        except Exception as error:  # the skeleton defines no process(data)
            print(error.status_code, error.detail)
    """)
    env = {**os.environ, "VSO_MODAL_SECRETS": '["stripe-live"]', "VSO_MODAL_VOLUMES": '{"/models": "model-weights"}'}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    # The skeleton answers; an implementation replaces it.
    assert done.stdout.split("\n")[:2] == [f"{SLICE} 501", "501 service/main.py defines no process(data)"]


def test_modal_deploy_and_stop_with_the_environment_set(modal_project, standin_modal, vso):
    app_file = built(modal_project, SLICE) / "modal/app.py"
    deployed = vso("deploy", "--slice-id", SLICE, "--platform", "modal", "--environment", "test")
    assert deployed.exit_code == 0, deployed.output
    record = deployments(modal_project, "test")[SLICE]
    assert record["platform"] == "modal" and record["app"] == f"vso-{SLICE}"
    assert record["url"].startswith("http://127.0.0.1:")  # serve's URL, not process's, printed before it
    assert record["process_url"] == f"https://stand-in--vso-{SLICE}-process.modal.run"
    assert httpx.get(f"{record['url']}/health").json()["slice"] == SLICE
    assert httpx.post(f"{record['url']}/auth/login", json={"email": "a@b.c"}).status_code == 201  # the build
    [call] = standin_modal()
    assert {k: v for k, v in call.items() if k != "env_names"} == {
        "argv": ["deploy", str(app_file)], "MODAL_ENVIRONMENT": "test", "VSO_MODAL_MIN_CONTAINERS": "0",
        "VSO_MODAL_SECRETS": "[]", "VSO_MODAL_VOLUMES": "{}", "token_given": False}
    assert "modal deploy" in (modal_project.logs_dir / "deployment.log").read_text()

    assert vso("destroy", "--slice-id", SLICE, "--environment", "test").exit_code == 0
    assert standin_modal()[-1]["argv"] == ["app", "stop", "--yes", f"vso-{SLICE}"]
    assert standin_modal()[-1]["MODAL_ENVIRONMENT"] == "test"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{record['url']}/health", timeout=2)
    assert deployments(modal_project, "test") == {}


def test_production_uses_the_production_modal_environment_and_warm_containers(modal_project, standin_modal):
    config = modal_project.root / "deployments/production/modal_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "environment": "prod-eu",
                                  "secrets": ["stripe-live"], "volumes": {"/models": "model-weights"}}))
    built(modal_project, SLICE)
    deploy_modal.deploy_modal(modal_project, SLICE, "production")
    [call] = standin_modal()
    assert call["MODAL_ENVIRONMENT"] == "prod-eu" and call["VSO_MODAL_MIN_CONTAINERS"] == "1"
    # The secrets and volumes by name, for app.py to hand to both of the slice's functions.
    assert json.loads(call["VSO_MODAL_SECRETS"]) == ["stripe-live"]
    assert json.loads(call["VSO_MODAL_VOLUMES"]) == {"/models": "model-weights"}
    destroy(modal_project, SLICE, "production")
    config.write_text(json.dumps({"volumes": {"models": "model-weights"}}))
    with pytest.raises(VSOError) as info:
        deploy_modal.deploy_modal(modal_project, SLICE, "production")
    assert str(info.value).startswith('deployments/production/modal_config.json: "volumes" must map absolute mount '
                                      'paths to Modal volume names')


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


def deploy_on_both_clouds(project, vso, *flags: str) -> list[str]:
    """Auth deployed to test on (stand-in) Modal and Todos on the stand-in Hetzner module; returns
    what each `vso deploy` printed. The caller stops the stand-in servers."""
    built(project, SLICE)
    standin_hetzner(project, "slice-002-todos")
    outputs = []
    for slice_id, platform in ((SLICE, "modal"), ("slice-002-todos", "hetzner")):
        result = vso("deploy", "--slice-id", slice_id, "--platform", platform, "--environment", "test", *flags)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    return outputs


def test_each_deploy_tool_gets_its_own_token_and_no_other(modal_project, standin_modal, vso, monkeypatch):
    """`modal` gets the Modal token, Terraform the Hetzner one (as TF_VAR_hcloud_token), and
    neither gets the other's, an agent's key or a secret VSO never heard of: an allow-list."""
    others = {"ANTHROPIC_API_KEY": "canary-ak-77aa", "ACME_DB_PASSWORD": "canary-db-13c5"}
    for name, value in {**CANARIES, **others}.items():
        monkeypatch.setenv(name, value)
    todos = "slice-002-todos"
    try:
        deploy_on_both_clouds(modal_project, vso)
        [call] = standin_modal()
        assert {"MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"} <= set(call["env_names"])
        assert not {"HCLOUD_TOKEN", "TF_VAR_hcloud_token", *others} & set(call["env_names"])
        # What Terraform ran (its local-exec "server") had what Terraform had.
        pid = standin_checkout(modal_project, todos).with_suffix(".pid").read_text()
        environ = dict(item.split("=", 1) for item in
                       Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
        assert environ["TF_VAR_hcloud_token"] == CANARIES["HCLOUD_TOKEN"]
        assert not {"HCLOUD_TOKEN", "MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", *others} & set(environ)
        assert vso("destroy", "--all", "--environment", "test").exit_code == 0
    finally:
        stop_standin_servers(modal_project)


def test_tokens_appear_nowhere(modal_project, standin_modal, vso, monkeypatch):
    """Deploy on both cloud platforms with canary tokens, then search everything VSO and Dagster
    wrote, and git's history: no canary anywhere (the stand-in modal even prints its token)."""
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    try:
        for output in deploy_on_both_clouds(modal_project, vso, "-v"):
            assert not any(c in output for c in CANARIES.values())
        assert "Using token *** (stand-in)" in (modal_project.logs_dir / "deployment.log").read_text()
        commit(modal_project.root, "after deploying")
        assert vso("destroy", "--all", "--environment", "test").exit_code == 0
    finally:
        stop_standin_servers(modal_project)

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
