"""The Terraform runner with the real `terraform` binary, offline: a module built on Terraform's
built-in `terraform_data` resource needs no provider download."""

from __future__ import annotations

import json

import pytest

from vso_dagster.core.base.secrets import mask
from vso_dagster.core.deployment.terraform import INSTALL_HINT, REDACTED, TerraformError, TerraformRunner

MODULE = """
variable "environment" {
  type = string
}

variable "fail" {
  type    = bool
  default = false
}

variable "hcloud_token" {
  type      = string
  sensitive = true
  default   = ""
}

resource "terraform_data" "server" {
  input = "${var.environment}-server"

  lifecycle {
    precondition {
      condition     = !var.fail
      error_message = "Failing on purpose."
    }
  }
}

output "server_ip" {
  value = "127.0.0.1"
}

output "endpoint_url" {
  value = "http://127.0.0.1:8000/${terraform_data.server.output}"
}

output "token_seen" {
  value     = var.hcloud_token
  sensitive = true
}
"""

CANARY = "canary-token-7f3a9c"


@pytest.fixture
def module(tmp_path):
    path = tmp_path / "module"
    path.mkdir()
    (path / "main.tf").write_text(MODULE)
    return path


def runner(project, module, environment, fail=False):
    var_file = None
    if fail:
        var_file = project.root / "deployments" / environment / "terraform.tfvars"
        var_file.parent.mkdir(parents=True, exist_ok=True)
        var_file.write_text("fail = true\n")
    return TerraformRunner(project, "slice-001-auth", environment, module, var_file)


def test_init_plan_apply_output_destroy(project, module, monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", CANARY)
    tf = runner(project, module, "test")
    tf.init()
    assert "1 to add" in tf.plan().output
    applied = tf.apply()
    assert "Apply complete! Resources: 1 added" in applied.output
    outputs = tf.output().outputs
    assert outputs == {"server_ip": "127.0.0.1", "endpoint_url": "http://127.0.0.1:8000/test-server",
                       "token_seen": REDACTED}
    assert "Destroy complete! Resources: 1 destroyed" in tf.destroy().output
    assert (project.state_dir / "terraform/slice-001-auth/test/terraform.tfstate").exists()
    everything = "".join(p.read_text(errors="ignore") for p in project.root.rglob("*") if p.is_file()
                         and "terraform.tfstate" not in p.name)
    assert CANARY not in everything + json.dumps(outputs)


def test_test_and_production_keep_separate_state(project, module):
    test, production = runner(project, module, "test"), runner(project, module, "production")
    for tf in (test, production):
        tf.init()
        tf.apply()
    test.destroy()
    assert production.output().outputs["endpoint_url"].endswith("/production-server")
    assert test.output().outputs == {}


def test_a_failing_apply_keeps_the_previous_state(project, module):
    good = runner(project, module, "test")
    good.init()
    good.apply()
    before = good.output().outputs
    bad = runner(project, module, "test", fail=True)
    with pytest.raises(TerraformError, match="terraform apply failed") as info:
        bad.apply()
    assert "Failing on purpose." in str(info.value)
    # Terraform's reason is on the first line, the one a table of runs shows.
    assert str(info.value).splitlines()[0].startswith("slice-001-auth (test): terraform apply failed: Error: ")
    assert good.output().outputs == before


def test_missing_terraform_says_how_to_install_it(project, module, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(TerraformError) as info:
        runner(project, module, "test").init()
    assert str(info.value) == INSTALL_HINT


def test_for_slice_uses_the_environments_tfvars_and_the_token_from_the_environment(project, monkeypatch):
    from vso_dagster.core.decomposition.scaffold_project import ensure_deployment_configs

    ensure_deployment_configs(project)
    monkeypatch.setenv("HCLOUD_TOKEN", CANARY)
    tf = TerraformRunner.for_slice(project, "slice-001-auth", "production")
    assert tf.var_file == project.root / "deployments/production/terraform.tfvars"
    assert tf.module == project.root / "vertical-slices/slice-001-auth/terraform"
    assert tf._env()["TF_VAR_hcloud_token"] == CANARY
    assert mask(f"token={CANARY}") == "token=***"
