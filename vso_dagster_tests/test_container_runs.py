"""A slice run in a container: the image the repository's Dockerfile builds, started by Dagster's
DockerRunLauncher with the configuration docs/scaling.md gives, from a daemon (`vso worker`) on a
real PostgreSQL instance. The container works in the project's checkout, mounted at the path it has
here, and leaves its results in the instance and the checkout, where `vso status` finds them.

It needs a container engine with Docker's API and the image built (`make image-test` does both
steps; `VSO_TEST_IMAGE` names the image). Without them it is skipped: CI has no engine."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import yaml

from vso_dagster.core.base.instance_storage import PASSWORD_ENV

from .conftest import EXAMPLES, commit, run_vso, scaling_doc_configs, user_env, venv_bin
from .postgres_server import PASSWORD

IMAGE = os.environ.get("VSO_TEST_IMAGE")
AUTH = "slice-001-auth"
# The documented launcher passes the agent CLI's key through; the scaffold agent needs none, so any
# value does: it is not a real key.
DAEMON_ENV = {PASSWORD_ENV: PASSWORD, "ANTHROPIC_API_KEY": "not-a-real-key"}

pytestmark = pytest.mark.skipif(not IMAGE, reason="no container image: `make image-test` builds one and runs this")


def docker_launcher(root: Path) -> dict:
    """docs/scaling.md's block, with this project's path and the image under test. The container
    shares the host's network: the test's PostgreSQL listens on loopback only."""
    [shown] = [c for c in scaling_doc_configs() if c.get("run_launcher", {}).get("class") == "DockerRunLauncher"]
    text = yaml.safe_dump(shown).replace("/srv/vso/project", str(root)).replace("vso:latest", IMAGE)
    block = yaml.safe_load(text)
    block["run_launcher"]["config"]["network"] = "host"
    return block


def test_a_slice_run_executes_in_the_image_through_the_docker_run_launcher(tmp_path, postgres_server):
    import docker
    from dagster._core.storage.tags import DOCKER_IMAGE_TAG
    from dagster_docker.docker_run_launcher import DOCKER_CONTAINER_ID_TAG

    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    url = postgres_server.url(postgres_server.new_database(), password=False)
    run_vso(root, "init", "--storage", "postgres", "--postgres-url", url, extra_env=DAEMON_ENV, check=True)
    shutil.copy(EXAMPLES / "todo-small.md", root / "master-spec.md")
    instance_file = root / ".slice-orchestrator" / "dagster" / "dagster.yaml"
    instance_file.write_text(instance_file.read_text() + "\n" + yaml.safe_dump(docker_launcher(root)))

    log = (tmp_path / "worker.log").open("w")
    daemon = subprocess.Popen([venv_bin("vso"), "worker"], cwd=root, env=user_env() | DAEMON_ENV, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Every run goes to the queue, and the daemon starts each in a container: the decomposition too.
        for command in (["decompose"], ["orchestrate", "--slice-id", AUTH]):
            done = run_vso(root, *command, extra_env=DAEMON_ENV, timeout=600)
            assert done.returncode == 0, done.stdout + done.stderr + (tmp_path / "worker.log").read_text()[-3000:]
            if command == ["decompose"]:
                commit(root, "the slices")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        log.close()

    status = json.loads(run_vso(root, "status", "--json", extra_env=DAEMON_ENV, check=True).stdout)
    assert status["slices"][AUTH]["status"] == "implemented", status["slices"][AUTH]
    # The team's work is on the slice's branch in the checkout the container had mounted.
    worktree = root / ".slice-orchestrator" / "worktrees" / AUTH
    built_by = subprocess.run(["git", "-C", str(worktree), "log", "-1", "--format=%s"], check=True,
                              capture_output=True, text=True).stdout.strip()
    assert built_by == f"{AUTH}: implementation by the scaffold agent"
    assert (worktree / "vertical-slices" / AUTH / "service").is_dir()

    # The run went into a container of the image, which finished cleanly; nothing ran it on the host.
    os.environ[PASSWORD_ENV] = PASSWORD
    try:
        with dg.DagsterInstance.from_config(str(instance_file.parent)) as instance:
            runs = {r.job_name: r for r in instance.get_runs()}
    finally:
        del os.environ[PASSWORD_ENV]
    assert {"vso_plan", "vso_slice_specs", "vso_implement"} <= set(runs)
    engine = docker.from_env()
    for job, run in runs.items():
        assert run.status == dg.DagsterRunStatus.SUCCESS, job
        assert run.tags.get(DOCKER_IMAGE_TAG) == IMAGE, (job, run.tags)
        container = engine.containers.get(run.tags[DOCKER_CONTAINER_ID_TAG])
        assert container.attrs["State"]["ExitCode"] == 0, job
        assert container.attrs["Config"]["Cmd"][:3] == ["dagster", "api", "execute_run"], job
        assert any(m["Destination"] == str(root) for m in container.attrs["Mounts"]), job
