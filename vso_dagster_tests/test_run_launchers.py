"""The container and Kubernetes run launchers docs/scaling.md configures construct on a VSO project's
instance, VSO then submits its runs rather than executing them, and the image's build context holds
what the Dockerfile copies. A run in a container of the image is test_container_runs.py; no
Kubernetes cluster is reachable here."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess

import pytest
import yaml

from vso_dagster.core.base.project import Project
from vso_dagster.launch.runs import SUBMIT, launch_mode
from vso_dagster.lib.instance import instance_config, instance_config_path, open_instance

from .conftest import EXAMPLES, REPO, run_vso, scaling_doc_configs, user_env, venv_bin

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: test, user: {token: a-test-token-for-no-cluster}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
"""


def shown_launcher(cls: str) -> dict:
    [config] = [c for c in scaling_doc_configs() if c.get("run_launcher", {}).get("class") == cls]
    return config


def with_launcher(project: Project, config: dict) -> None:
    """VSO's own dagster.yaml for the project, with the launcher block added beside it, as the docs say."""
    run_vso(project.root, "init", check=True)
    project.write(instance_config_path(project), instance_config(project, None) + "\n" + yaml.safe_dump(config))


@pytest.mark.parametrize(("cls", "module"), [("DockerRunLauncher", "dagster_docker"),
                                           ("K8sRunLauncher", "dagster_k8s")])
def test_each_launcher_docs_scaling_shows_is_built_on_a_vso_instance_and_vso_submits_its_runs(
        cls, module, project, tmp_path, monkeypatch):
    shown = shown_launcher(cls)
    assert shown["run_launcher"]["module"] == module
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    with_launcher(project, shown)
    with open_instance(project) as instance:
        launcher = instance.run_launcher
        assert type(launcher).__name__ == cls and type(launcher).__module__.startswith(module)
        config = shown["run_launcher"]["config"]
        if cls == "DockerRunLauncher":
            assert (launcher.image, launcher.env_vars) == (config["image"], config["env_vars"])
            assert launcher.container_kwargs["volumes"] == config["container_kwargs"]["volumes"]
        else:
            assert (launcher.job_namespace, launcher.job_image) == (config["job_namespace"], config["job_image"])
            assert launcher.env_secrets == config["env_secrets"] and launcher.volume_mounts
        # The run executes where the launcher puts it: VSO queues it for the daemon, never runs it here.
        assert launch_mode(instance, "auto") == SUBMIT


def test_a_launcher_that_cannot_be_built_is_said_as_the_files_fault_with_the_fix(project):
    with_launcher(project, {"run_launcher": {"module": "dagster_docker_typo", "class": "DockerRunLauncher"}})
    failed = run_vso(project.root, "orchestrate", "--all")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip() == (".slice-orchestrator/dagster/dagster.yaml: run_launcher: cannot import "
                                     "dagster_docker_typo: install the package that provides dagster_docker_typo")
    k8s = shown_launcher("K8sRunLauncher")
    del k8s["run_launcher"]["config"]["instance_config_map"]
    with_launcher(project, k8s)
    failed = run_vso(project.root, "orchestrate", "--all")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith(".slice-orchestrator/dagster/dagster.yaml: run_launcher: ") and \
        '"instance_config_map"' in failed.stderr


def test_the_images_build_context_holds_everything_the_dockerfile_copies():
    dockerfile = (REPO / "Dockerfile").read_text()
    ignored = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines() if line.strip()]
    copied = [source for line in re.findall(r"^COPY (.+)$", dockerfile, flags=re.M) for source in line.split()[:-1]]
    assert {"pyproject.toml", "vso_dagster", "templates", "Makefile"} <= set(copied)
    for source in copied:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which the repository does not have"
        assert not any(source == pattern or source.startswith(pattern.rstrip("/") + "/") for pattern in ignored), \
            f".dockerignore leaves {source} out of the build context"
    # The agent CLIs are the Makefile's pinned ones, installed by its own target.
    assert re.search(r"^RUN make agents ", dockerfile, flags=re.M)


def test_a_run_its_launcher_cannot_start_is_said_with_the_launchers_words_not_a_traceback(project, tmp_path):
    """Docker configured, its engine down: the daemon fails the run before any step, and `vso` says why."""
    docker = shown_launcher("DockerRunLauncher")
    with_launcher(project, docker)
    shutil.copy(EXAMPLES / "todo-small.md", project.master_spec)
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock", "VSO_POSTGRES_PASSWORD": "unused",
           "ANTHROPIC_API_KEY": "not-a-real-key"}
    daemon = subprocess.Popen([venv_bin("vso"), "worker"], cwd=project.root, env=user_env() | env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        failed = run_vso(project.root, "decompose", extra_env=env, timeout=300)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr, failed.stderr[-3000:]
    assert "failed before any step ran" in failed.stderr, failed.stderr
    assert "docker.errors.DockerException: Error while fetching server API version" in failed.stderr
    assert "`vso ui`, Runs" in failed.stderr
