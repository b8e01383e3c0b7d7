"""Runs on another machine, played on this one: two clones of one bare git remote, a "controller"
where the user runs `vso`, and a "worker" running `vso worker` (a Dagster daemon in the worker's
own environment), sharing one real PostgreSQL instance. The worker's daemon launches every run;
each works in the worker's clone, takes its spec from the remote, pushes its work back, and leaves
its results in the instance, where the controller's `vso` finds them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import dagster as dg

from vso_dagster.core.base.instance_storage import PASSWORD_ENV
from vso_dagster.lib.in_process import PROCESS_TAG

from .conftest import EXAMPLES, commit, run_vso, user_env, venv_bin
from .postgres_server import PASSWORD

AUTH, BRANCH = "slice-001-auth", "slice-001-auth-v1.0.0"
KEYED = {PASSWORD_ENV: PASSWORD}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_a_worker_clone_builds_and_delivers_what_the_controller_asks_and_the_controller_sees_it(tmp_path,
                                                                                                 postgres_server):
    remote, controller, worker = tmp_path / "remote.git", tmp_path / "controller", tmp_path / "worker"
    url = postgres_server.url(postgres_server.new_database(), password=False)
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    controller.mkdir()
    git(controller, "init", "-q", "-b", "main")
    run_vso(controller, "init", "--storage", "postgres", "--postgres-url", url, extra_env=KEYED, check=True)
    shutil.copy(EXAMPLES / "todo-small.md", controller / "master-spec.md")
    config = controller / ".slice-orchestrator" / "config.toml"
    config.write_text(config.read_text().replace('launch = "auto"', 'launch = "submit"')
                      .replace('checkout = "shared"', 'checkout = "git"'))
    run_vso(controller, "decompose", extra_env=KEYED, check=True, timeout=180)
    commit(controller, "the slices")
    git(controller, "remote", "add", "origin", str(remote))
    git(controller, "push", "-q", "origin", "main")
    pushed = git(controller, "rev-parse", "HEAD")

    git(tmp_path, "clone", "-q", str(remote), str(worker))
    run_vso(worker, "init", "--storage", "postgres", "--postgres-url", url, extra_env=KEYED, check=True)
    log = (tmp_path / "worker.log").open("w")
    daemon = subprocess.Popen([venv_bin("vso"), "worker"], cwd=worker, env=user_env() | KEYED, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        built = run_vso(controller, "orchestrate", "--slice-id", AUTH, extra_env=KEYED, timeout=300)
        assert built.returncode == 0, built.stdout + built.stderr + (tmp_path / "worker.log").read_text()[-3000:]
        delivered = run_vso(controller, "deploy", "--slice-id", AUTH, extra_env=KEYED, timeout=300)
        assert delivered.returncode == 0, delivered.stdout + delivered.stderr
        status = json.loads(run_vso(controller, "status", "--json", extra_env=KEYED, check=True).stdout)
        # What the worker did, as the controller's `vso status` now has it: built at the commit the
        # worker pushed, tested, serving in production at the endpoint the worker started.
        auth = status["slices"][AUTH]
        on_remote = git(remote, "rev-parse", f"refs/heads/{BRANCH}")
        assert auth["status"] == "deployed" and auth["tested_commit"] == on_remote, auth
        assert auth["integration"]["passed"] is True
        production = status["deployments"]["production"]["endpoints"][AUTH]
        assert production["commit"] == on_remote
        with urllib.request.urlopen(f"{production['url']}/health", timeout=10) as answer:
            assert answer.status == 200
        assert status["deployments"]["production"]["slices_deployed"] == [AUTH]
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        log.close()
        run_vso(worker, "destroy", "--all", "--environment", "both", extra_env=KEYED)

    # The controller's files are its own: no worktree, no branch, its checkout where the user left it.
    assert not (controller / ".slice-orchestrator" / "worktrees").exists()
    assert git(controller, "rev-parse", "HEAD") == pushed and not git(controller, "status", "--porcelain")
    assert not git(controller, "branch", "--list", BRANCH)
    # The worker built and delivered in its own clone, and pushed home what went to production.
    assert (worker / ".slice-orchestrator" / "worktrees" / AUTH / "vertical-slices" / AUTH).is_dir()
    for log_name in ("implementation", "deployment"):
        assert (worker / ".slice-orchestrator" / "logs" / f"{log_name}.log").exists()
        assert not (controller / ".slice-orchestrator" / "logs" / f"{log_name}.log").exists()
    assert git(remote, "log", "-1", "--format=%s", "main") == f"Merge {BRANCH}: {AUTH} serves in production"
    assert git(remote, "merge-base", "--is-ancestor", on_remote, "main") == ""

    # Every slice run was taken off the queue by the worker's daemon and worked in the worker's clone;
    # the decomposition, which writes the controller's files, ran in the controller's `vso`.
    home = controller / ".slice-orchestrator" / "dagster"
    os.environ[PASSWORD_ENV] = PASSWORD
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = {r.job_name: r for r in instance.get_runs()}
            assert set(runs) == {"vso_plan", "vso_slice_specs", "vso_master_sync", "vso_implement", "vso_deliver"}
            for job, run in runs.items():
                assert run.status == dg.DagsterRunStatus.SUCCESS, job
                # A run the daemon launched went through its code server; one `vso` executed has its process.
                by_daemon = ".dagster/grpc_info" in run.tags and PROCESS_TAG not in run.tags
                assert by_daemon == (job in ("vso_implement", "vso_deliver")), (job, run.tags)
            built_in = instance.get_latest_materialization_event(dg.AssetKey("slice_implementation"))
            worktree = built_in.asset_materialization.metadata["worktree"].value
            assert Path(worktree) == worker / ".slice-orchestrator" / "worktrees" / AUTH
    finally:
        del os.environ[PASSWORD_ENV]
