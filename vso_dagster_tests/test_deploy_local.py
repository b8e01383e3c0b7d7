"""Platform local: a real service process on loopback, real HTTP, replace-after-healthy, destroy."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from vso_dagster.core.decompose import load_plan
from vso_dagster.core.deploy_local import deploy_local, deployments, destroy_local
from vso_dagster.core.errors import VSOError
from vso_dagster.core.implement import implement_slice
from vso_dagster.core.state import load_state


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and b"uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.fixture
def implemented(committed):
    implement_slice(committed, load_plan(committed), "slice-001-auth")
    yield committed
    for env in ("test", "production"):
        destroy_local(committed, "slice-001-auth", env)


def test_deploy_serves_the_implementation_and_records_it(implemented):
    deployment = deploy_local(implemented, "slice-001-auth", "test")
    assert httpx.get(f"{deployment.url}/health").json()["status"] == "ok"
    login = httpx.post(f"{deployment.url}/auth/login", json={"email": "a@b.c"})
    assert login.status_code == 201, "the branch's implementation serves, not the 501 skeleton"
    test_env = load_state(implemented)["deployments"]["test"]
    assert test_env["slices_deployed"] == ["slice-001-auth"]
    assert test_env["endpoints"]["slice-001-auth"]["url"] == deployment.url
    assert load_state(implemented)["deployments"]["production"]["slices_deployed"] == []


def test_redeploy_replaces_the_old_process_only_once_the_new_one_is_healthy(implemented):
    first = deploy_local(implemented, "slice-001-auth", "test")
    second = deploy_local(implemented, "slice-001-auth", "test")
    assert second.port != first.port and alive(second.pid) and not alive(first.pid)
    assert httpx.get(f"{second.url}/health").status_code == 200


def test_a_service_that_never_gets_healthy_leaves_the_old_one_serving(implemented):
    good = deploy_local(implemented, "slice-001-auth", "test")
    main = implemented.state_dir / "worktrees/slice-001-auth/vertical-slices/slice-001-auth/service/main.py"
    main.write_text("raise RuntimeError('broken on purpose')\n")
    with pytest.raises(VSOError, match="the service never became healthy"):
        deploy_local(implemented, "slice-001-auth", "test")
    assert alive(good.pid) and httpx.get(f"{good.url}/health").status_code == 200
    assert deployments(implemented, "test")["slice-001-auth"]["pid"] == good.pid


def test_destroy_stops_the_service(implemented):
    deployment = deploy_local(implemented, "slice-001-auth", "production")
    assert destroy_local(implemented, "slice-001-auth", "production")
    assert not alive(deployment.pid)
    assert load_state(implemented)["deployments"]["production"] == {"slices_deployed": [], "endpoints": {}}
    assert not destroy_local(implemented, "slice-001-auth", "production")


def test_a_recorded_pid_that_is_no_longer_ours_is_never_signalled(implemented):
    deployment = deploy_local(implemented, "slice-001-auth", "test")
    state_file = implemented.state_file
    state_file.write_text(state_file.read_text().replace(str(deployment.pid), str(os.getpid())))
    assert destroy_local(implemented, "slice-001-auth", "test")
    assert alive(deployment.pid)  # the recorded pid was this test process: nothing was killed
    os.killpg(deployment.pid, 15)
