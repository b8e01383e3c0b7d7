"""Platform local: a real service process on loopback, real HTTP, replace-after-healthy, destroy."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state
from vso_dagster.core.deployment.deployments import deployments
from vso_dagster.core.deployment.local import deploy_local, destroy_local
from vso_dagster.core.implementation.implement import implement_slice

from .conftest import commit_on_branch, defined


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
    assert second.details["port"] != first.details["port"]
    assert alive(second.details["pid"]) and not alive(first.details["pid"])
    assert httpx.get(f"{second.url}/health").status_code == 200


def test_a_service_that_never_gets_healthy_leaves_the_old_one_serving(implemented):
    good = deploy_local(implemented, "slice-001-auth", "test")
    main = implemented.state_dir / "worktrees/slice-001-auth/vertical-slices/slice-001-auth/service/main.py"
    main.write_text("raise RuntimeError('broken on purpose')\n")
    with pytest.raises(VSOError, match="the service never became healthy"):
        deploy_local(implemented, "slice-001-auth", "test")
    assert alive(good.details["pid"]) and httpx.get(f"{good.url}/health").status_code == 200
    assert deployments(implemented, "test")["slice-001-auth"]["pid"] == good.details["pid"]


def test_destroy_stops_the_service(implemented):
    deployment = deploy_local(implemented, "slice-001-auth", "production")
    assert destroy_local(implemented, "slice-001-auth", "production")
    assert not alive(deployment.details["pid"])
    assert load_state(implemented)["deployments"]["production"] == {"slices_deployed": [], "endpoints": {}}
    assert not destroy_local(implemented, "slice-001-auth", "production")


def test_a_recorded_pid_that_is_no_longer_ours_is_never_signalled(implemented):
    deployment = deploy_local(implemented, "slice-001-auth", "test")
    state_file = implemented.state_file
    state_file.write_text(state_file.read_text().replace(str(deployment.details["pid"]), str(os.getpid())))
    assert destroy_local(implemented, "slice-001-auth", "test")  # this test process was not signalled…
    deadline = time.monotonic() + 15
    while alive(deployment.details["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    # …and the service, found by the marker in its environment and not by the record, was stopped.
    assert not alive(deployment.details["pid"])


def deliver(project, instance):
    from vso_dagster.lib.resources import VSOProject

    path = defined("test_deployment", "integration_tests", "production_deployment")
    return dg.materialize(path, partition_key="slice-001-auth",
                          instance=instance, resources={"vso": VSOProject(root=str(project.root))},
                          raise_on_error=False)


def test_test_deploy_then_integration_tests_then_production(implemented):
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("slices", ["slice-001-auth"])
        result = deliver(implemented, instance)
        assert result.success
        mats = {e.asset_key.to_user_string(): e.event_specific_data.materialization
                for e in result.get_asset_materialization_events()}
        assert set(mats) == {"test_deployment", "integration_tests", "production_deployment"}
        assert mats["integration_tests"].metadata["failed"].value == 0
        assert mats["integration_tests"].metadata["p95_ms"].value <= 200
        measured = mats["integration_tests"].metadata
        assert measured["p50_ms"].value <= measured["p95_ms"].value <= measured["p99_ms"].value
        # The budget is for reads, and Auth has none of its own: /health stands in.
        assert measured["perf_load"].value == "50 requests to GET /health, 4 at a time"
        url = mats["production_deployment"].metadata["endpoint"].value
    assert httpx.get(f"{url}/health").status_code == 200
    assert load_state(implemented)["slices"]["slice-001-auth"]["status"] == "deployed"
    assert load_state(implemented)["deployments"]["production"]["slices_deployed"] == ["slice-001-auth"]


def test_production_is_skipped_with_the_reason_when_integration_tests_fail(implemented, vso):
    main = implemented.state_dir / "worktrees/slice-001-auth/vertical-slices/slice-001-auth/service/main.py"
    broken = main.read_text().replace("JSONResponse(record, status_code=201)", "JSONResponse(record, status_code=500)")
    main.write_text(broken)  # still healthy, but creating anything now fails the contract
    commit_on_branch(implemented, "slice-001-auth", as_tested=True)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("slices", ["slice-001-auth"])
        assert not deliver(implemented, instance).success
        from vso_dagster.lib.resources import VSOProject

        alone = dg.materialize(defined("production_deployment"), partition_key="slice-001-auth",
                               instance=instance, resources={"vso": VSOProject(root=str(implemented.root))})
        assert alone.success and not alone.get_asset_materialization_events()
        logs = " ".join(e.message for e in instance.all_logs(alone.run_id) if e.message)
        assert "production skipped: integration tests failed" in logs
        [observed] = alone.get_asset_observation_events()  # the reason, as an event of the asset
        assert observed.asset_observation_data.asset_observation.metadata["skipped"].value.startswith(
            "integration tests failed")
    assert load_state(implemented)["deployments"]["production"]["slices_deployed"] == []
    said = vso("deploy", "--slice-id", "slice-001-auth", "--environment", "production")
    assert said.exit_code == 0 and "skipped" in said.output, said.output
    assert "integration tests" in said.output  # the reason, in the outcome's row


def test_deploy_test_and_destroy_commands(implemented, vso):
    deployed = vso("deploy", "--slice-id", "slice-001-auth")
    assert deployed.exit_code == 0, deployed.output
    assert "production: http://127.0.0.1:" in deployed.output
    tested = vso("test", "--slice-id", "slice-001-auth", "--environment", "test")
    assert tested.exit_code == 0 and "integration tests passed" in tested.output
    urls = [e["url"] for env in ("test", "production") for e in deployments(implemented, env).values()]
    destroyed = vso("destroy", "--all", "--environment", "both")
    assert destroyed.exit_code == 0 and destroyed.output.count("no longer serves") == 2
    for url in urls:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/health", timeout=2)


def test_a_taken_port_is_skipped_for_a_free_one(implemented, monkeypatch):
    import socket

    from vso_dagster.core.deployment import local as local

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        ports = iter([taken_port])
        real_free_port = local.free_port
        monkeypatch.setattr(local, "free_port", lambda: next(ports, None) or real_free_port())
        deployment = deploy_local(implemented, "slice-001-auth", "test")
    assert deployment.details["port"] != taken_port
    assert httpx.get(f"{deployment.url}/health").status_code == 200
    log = (implemented.logs_dir / "slice-001-auth/test-service.log").read_text()
    assert "address already in use" in log.lower()


def test_a_slice_without_integration_tests_never_reaches_production(implemented):
    tests = implemented.state_dir / "worktrees/slice-001-auth/vertical-slices/slice-001-auth/tests/integration"
    for test in tests.glob("test_*.py"):
        test.unlink()
    commit_on_branch(implemented, "slice-001-auth")
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("slices", ["slice-001-auth"])
        result = deliver(implemented, instance)
        assert not result.success
        from vso_dagster.launch.results import failure_reason

        reason, reported = failure_reason(result)
    assert reported and "has no integration tests (test_*.py)" in reason
    assert load_state(implemented)["deployments"]["production"]["slices_deployed"] == []
    assert deployments(implemented, "test")["slice-001-auth"]  # the test deployment itself stands


def test_red_integration_tests_fail_their_blocking_check_with_the_junit_counts(implemented):
    main = implemented.state_dir / "worktrees/slice-001-auth/vertical-slices/slice-001-auth/service/main.py"
    main.write_text(main.read_text().replace("JSONResponse(record, status_code=201)",
                                             "JSONResponse(record, status_code=500)"))
    commit_on_branch(implemented, "slice-001-auth", as_tested=True)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("slices", ["slice-001-auth"])
        result = deliver(implemented, instance)
        [check] = result.get_asset_check_evaluations()
        assert check.check_name == "integration_junit" and not check.passed
        assert check.metadata["failed"].value >= 1 and check.metadata["passed"].value >= 1
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"test_deployment", "integration_tests"}  # recorded, but production did not follow


SECRETS = {"HCLOUD_TOKEN": "canary-hc-41f2", "MODAL_TOKEN_SECRET": "canary-ms-9d0e",
           "ANTHROPIC_API_KEY": "canary-ak-77aa", "ACME_DB_PASSWORD": "canary-db-13c5"}
ENV_PROBE = '''
import os

SECRETS = {secrets!r}


def test_no_secret_of_vso_reaches_the_slice_tests():
    assert not set(SECRETS.values()) & set(os.environ.values())
    assert os.environ["PYTHONDONTWRITEBYTECODE"] == "1"
'''


def test_slice_code_gets_no_secret_of_vso(implemented, vso, monkeypatch):
    """Tokens of deploy tools and agents, and one VSO never heard of, stay out of the service VSO
    deploys and of the slice's own tests: their environment is an allow-list."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    tests = implemented.state_dir / "worktrees/slice-001-auth/vertical-slices/slice-001-auth/tests/unit"
    (tests / "test_env_probe.py").write_text(ENV_PROBE.format(secrets=SECRETS))
    commit_on_branch(implemented, "slice-001-auth")  # its unit tests, with the probe, pass
    assert vso("deploy", "--slice-id", "slice-001-auth", "--environment", "test").exit_code == 0
    pid = deployments(implemented, "test")["slice-001-auth"]["pid"]
    environ = dict(item.split("=", 1) for item in
                   Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
    assert not set(SECRETS.values()) & set(environ.values())
    assert environ["PATH"] == os.environ["PATH"] and environ["PYTHONDONTWRITEBYTECODE"] == "1"


def test_a_variable_named_in_pass_env_reaches_the_service_and_a_token_never_can(implemented, vso, monkeypatch):
    monkeypatch.setenv("ACME_DB_URL", "postgresql://db.internal/app")
    monkeypatch.setenv("HCLOUD_TOKEN", "canary-hc-41f2")
    config = implemented.state_dir / "config.toml"
    config.write_text(config.read_text().replace('# pass_env = ["DATABASE_URL"]', 'pass_env = ["ACME_DB_URL"]'))
    assert vso("deploy", "--slice-id", "slice-001-auth", "--environment", "test").exit_code == 0
    pid = deployments(implemented, "test")["slice-001-auth"]["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"ACME_DB_URL=postgresql://db.internal/app" in environ
    assert not any(b"canary-hc-41f2" in item for item in environ)
    config.write_text(config.read_text().replace('pass_env = ["ACME_DB_URL"]', 'pass_env = ["HCLOUD_TOKEN"]'))
    refused = vso("deploy", "--slice-id", "slice-001-auth", "--environment", "test")
    assert refused.exit_code == 2 and "[deploy] pass_env may not name HCLOUD_TOKEN" in refused.output


def test_the_performance_test_loads_the_reads_the_budget_is_about_and_reports_p50_p95_p99(implemented):
    from vso_dagster.core.deployment.integration import run_integration_tests

    implement_slice(implemented, load_plan(implemented), "slice-002-todos")
    perf = implemented.slice_dir("slice-002-todos") / "tests/integration/test_todos_performance.py"
    # The budget is "for reads": the list and the read of one todo (on one made first), not /health.
    assert "It loads GET /todos, GET /todos/{todo_id}:" in perf.read_text()
    auth = deploy_local(implemented, "slice-001-auth", "test")  # Todos calls it
    deploy_local(implemented, "slice-002-todos", "test", {"VSO_DEP_AUTH_URL": auth.url})
    try:
        run = run_integration_tests(implemented, "slice-002-todos", "test")
    finally:
        destroy_local(implemented, "slice-002-todos", "test")
        destroy_local(implemented, "slice-001-auth", "test")
    assert run.passed, run.summary()
    measured = run.performance
    assert (measured["load"], measured["requests"], measured["concurrency"]) == (
        ["GET /todos", "GET /todos/{todo_id}"], 100, 4)
    assert measured["p50_ms"] <= measured["p95_ms"] <= measured["p99_ms"]
    assert measured["percentile"] == 95 and measured["measured_ms"] == measured["p95_ms"]
