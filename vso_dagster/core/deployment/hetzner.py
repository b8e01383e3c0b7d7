"""Platform `hetzner`: the slice's generated terraform/ module, applied with the real `terraform` CLI.

First the tested commit is pushed where the server can fetch it (publish.py); then init, plan and
apply run in the slice's own working directory per environment (see terraform.py), with that
commit's SHA as `git_ref` and the remote's URL as `repo_url`. The `endpoint_url` output (else
`server_ip` on the service port) becomes the endpoint once its health check passes. A failed step
records nothing: state.json keeps the last good deployment, and Terraform keeps its own previous state.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..base.config import load_config
from ..base.errors import VSOError
from ..base.project import Project
from ..base.state import forget_deployment
from .deployments import Deployment, log, record, service_dir, tested_commit, wait_healthy
from .publish import publish_tested
from .terraform import TerraformRunner

# A new server boots and runs its cloud-init (apt, git clone, pip) before it answers.
HEALTH_TIMEOUT_S = 600.0
SERVICE_PORT = 8000


def module_dir(project: Project, slice_id: str) -> Path:
    """The slice's terraform/ beside the service that deploys: the branch's copy once built."""
    return service_dir(project, slice_id).parent / "terraform"


TOKEN_HINT = ("HCLOUD_TOKEN is not set: export your Hetzner Cloud API token (Console > Security > API tokens) "
              "in the shell that runs vso or Dagster; VSO passes it to Terraform as TF_VAR_hcloud_token and "
              "never writes it down. Nothing was deployed")


def deploy_hetzner(project: Project, slice_id: str, environment: str, wiring: dict[str, str] | None = None,
                   health_timeout_s: float = HEALTH_TIMEOUT_S) -> Deployment:
    """`wiring` (VSO_DEP_<SLICE>_URL of each slice it calls) becomes the module's dependency_urls, which
    the server's systemd unit sets in the service's environment."""
    if not (os.environ.get("HCLOUD_TOKEN") or os.environ.get("TF_VAR_hcloud_token")):
        raise VSOError(TOKEN_HINT)
    published = publish_tested(project, slice_id, tested_commit(project, slice_id), load_config(project))
    log.info(f"{slice_id}: pushed {published.commit[:12]} to {published.remote} ({published.branch})")
    tf = TerraformRunner.for_slice(project, slice_id, environment, module_dir(project, slice_id),
                                   repo_url=published.repo_url, git_ref=published.commit,
                                   # Only when it calls any: a module VSO generated before had no such input.
                                   **({"dependency_urls": hcl_map(wiring)} if wiring else {}))
    log.info(f"{slice_id}: terraform init/plan/apply in {project.relative(tf.workdir)} ({environment})")
    for step in (tf.init, tf.plan, tf.apply):
        run = step()
        log.info(f"{slice_id}: terraform {run.step}: {_summary(run.output)}")
    outputs = tf.output().outputs
    url = outputs.get("endpoint_url") or (f"http://{outputs['server_ip']}:{SERVICE_PORT}"
                                          if outputs.get("server_ip") else None)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise VSOError(f"{project.relative(tf.module)}: the module has no endpoint_url (or server_ip) output "
                       f"to reach the service by; add one (see the generated outputs.tf)")
    if error := wait_healthy(url.rstrip("/"), health_timeout_s):
        raise VSOError(f"{slice_id}: terraform applied, but the service is not healthy ({error}); state.json "
                       f"keeps the previous deployment. Inspect the server, or `vso destroy --slice-id {slice_id} "
                       f"--environment {environment}`")
    deployment = Deployment(slice_id, environment, "hetzner", url.rstrip("/"),
                            {"outputs": outputs, "terraform_dir": project.relative(tf.workdir),
                             "repo_url": published.repo_url, "git_ref": published.commit,
                             "wiring": wiring or {}})
    record(project, deployment)
    return deployment


def destroy_hetzner(project: Project, slice_id: str, environment: str) -> bool:
    """terraform destroy in the slice's working directory for that environment, then forgets it."""
    tf = TerraformRunner.for_slice(project, slice_id, environment)
    had_state = (tf.workdir / "terraform.tfstate").exists()
    if had_state:
        log.info(f"{slice_id}: terraform destroy in {project.relative(tf.workdir)} ({environment})")
        log.info(f"{slice_id}: terraform destroy: {_summary(tf.destroy().output)}")
    return forget_deployment(project, slice_id, environment) is not None or had_state


def hcl_map(values: dict[str, str]) -> str:
    """A map(string) as `-var` takes it: JSON strings are HCL strings, once `${` and `%{` (template
    sequences in HCL) are escaped."""
    body = ", ".join(f"{json.dumps(k)} = {json.dumps(v).replace('${', '$${').replace('%{', '%%{')}"
                     for k, v in sorted(values.items()))
    return "{" + body + "}"


def _summary(output: str) -> str:
    """Terraform's own one-line verdict ('Plan: 1 to add…', 'Apply complete!…'), else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    verdicts = [line for line in lines if line.startswith(("Plan:", "Apply complete", "Destroy complete",
                                                          "No changes", "Terraform has been successfully"))]
    return (verdicts or lines or ["(no output)"])[-1]
