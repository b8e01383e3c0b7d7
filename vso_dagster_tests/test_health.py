"""Deployed slices are watched: the deployment_health sensor, ticked by a real dagster-daemon, and
`vso health` probe every recorded endpoint's /health; a slice that stops answering shows as a
failed `health` check of its deployment in the instance and as UNHEALTHY in `vso status`, and the
alerts sensor tells a webhook (a receiver on loopback) once per incident, and once when it is over."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pytest

from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state, record_deployment
from vso_dagster.core.deployment.health import probe_all, record_health
from vso_dagster.core.deployment.local import deploy_local, destroy_local, free_port
from vso_dagster.core.implementation.implement import implement_slice

from .conftest import run_vso, user_env, venv_bin
from .test_sync_live import wait_for

AUTH = "slice-001-auth"
WEBHOOK_SECRET, TOKEN = "webhook-canary-5e1f", "hcloud-canary-0b7d"


@contextmanager
def loopback(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """An HTTP server on a free loopback port, answering with `handler`: its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def receiving() -> Iterator[tuple[str, list[dict]]]:
    """A chat webhook on loopback: its URL, and the JSON bodies posted to it."""
    received: list[dict] = []

    class Hook(Quiet):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

    with loopback(Hook) as url:
        yield f"{url}/hooks/T0/{WEBHOOK_SECRET}", received


@contextmanager
def answering(status: int) -> Iterator[str]:
    """A loopback server whose /health answers `status`: all a probe sees of a slice."""
    class Health(Quiet):
        def do_GET(self):
            self.send_response(status if self.path == "/health" else 404)
            self.end_headers()

    with loopback(Health) as url:
        yield url


def deployed_at(project, slice_id: str, environment: str, url: str, deployment_id: str = "d1") -> None:
    record_deployment(project, slice_id, environment, {"platform": "local", "url": url, "id": deployment_id})


def test_each_answer_is_kept_with_its_deployment_and_an_unchanged_one_writes_nothing(decomposed):
    slices = sorted(load_state(decomposed)["slices"])
    with answering(200) as well, answering(503) as ill:
        deployed_at(decomposed, slices[0], "test", well)
        deployed_at(decomposed, slices[0], "production", ill)
        deployed_at(decomposed, slices[1], "production", f"http://127.0.0.1:{free_port()}")  # nothing listens
        record_deployment(decomposed, slices[2], "production", {"platform": "local", "url": "", "id": "w"})  # a worker
        probes = probe_all(decomposed, timeout_s=2)
        answers = {(p.endpoint.slice_id, p.endpoint.environment): (p.healthy, p.detail) for p in probes}
        assert answers == {(slices[0], "test"): (True, "HTTP 200"), (slices[0], "production"): (False, "HTTP 503"),
                           (slices[1], "production"): (False, answers[(slices[1], "production")][1])}
        assert answers[(slices[1], "production")][1].startswith("no answer: ")
        # Until a probe says otherwise, a deployment answers as its deploy saw it: healthy.
        assert record_health(decomposed, probes) == [p for p in probes if not p.healthy]
        assert "health" not in load_state(decomposed)["deployments"]["test"]["endpoints"][slices[0]]
        production = load_state(decomposed)["deployments"]["production"]["endpoints"]
        assert production[slices[0]]["health"]["healthy"] is False
        assert production[slices[0]]["health"]["detail"] == "HTTP 503"

        before = decomposed.state_file.read_text()
        again = probe_all(decomposed, timeout_s=2)
        assert record_health(decomposed, again) == []
        assert decomposed.state_file.read_text() == before  # a steady project is not rewritten

        # Redeployed while the probe was out: the answer was the old deployment's, and is not kept.
        deployed_at(decomposed, slices[0], "production", ill, deployment_id="d2")
        assert record_health(decomposed, again) == []
        assert "health" not in load_state(decomposed)["deployments"]["production"]["endpoints"][slices[0]]


@pytest.fixture
def serving(committed):
    """slice-001-auth built by the scaffold agent and serving in test and production on loopback."""
    implement_slice(committed, load_plan(committed), AUTH)
    deployments = {env: deploy_local(committed, AUTH, env) for env in ("test", "production")}
    yield committed, deployments
    for env in deployments:
        destroy_local(committed, AUTH, env)


def health_runs(instance: dg.DagsterInstance) -> list[tuple[str, str, str, bool, str]]:
    """(job, partition, sensor, passed, description) of every finished health-check run."""
    found = []
    for run in instance.get_runs():
        if run.job_name.startswith("vso_health_") and run.is_finished:
            events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            for event in events:
                data = event.dagster_event.event_specific_data
                found.append((run.job_name, data.partition, run.tags.get("dagster/sensor_name"), data.passed,
                              data.description))
    return found


def production_runs(instance: dg.DagsterInstance) -> list[tuple[str, str, str, bool, str]]:
    return [run for run in health_runs(instance) if run[0] == "vso_health_production"]


def alerts_cursor(instance: dg.DagsterInstance) -> str | None:
    states = [s for s in instance.all_instigator_state() if s.instigator_name == "alerts"]
    return states[0].instigator_data.cursor if states and states[0].instigator_data else None


def test_the_sensor_in_the_daemon_sees_a_production_slice_die_and_come_back_and_the_webhook_hears_each_once(serving):
    project, deployments = serving
    config = project.state_dir / "config.toml"
    # Both sensors every second ([health] says 60 and [alerts] 30 as `vso init` writes them).
    config.write_text(config.read_text().replace("interval_seconds = 60", "interval_seconds = 1")
                      .replace("interval_seconds = 30", "interval_seconds = 1"))
    first = run_vso(project.root, "health")
    assert first.returncode == 0 and first.stdout.count("healthy") == 2, first.stdout + first.stderr

    env = user_env() | {"DAGSTER_HOME": str(project.dagster_home), "VSO_PROJECT_ROOT": str(project.root)}
    workspace = str(project.dagster_home / "workspace.yaml")
    started = subprocess.run([venv_bin("dagster"), "sensor", "start", "deployment_health", "-w", workspace],
                             env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr[-2000:]
    with receiving() as (webhook, received):
        # The webhook's URL (a secret, for Slack) and a deploy token live only in the daemon's environment.
        daemon = subprocess.Popen([venv_bin("dagster-daemon"), "run", "-w", workspace], cwd=project.root,
                                  env=env | {"VSO_ALERT_WEBHOOK_URL": webhook, "HCLOUD_TOKEN": TOKEN},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
                # Every slice answers as its deploy saw it: neither `vso health` nor the sensor ran a check.
                assert health_runs(instance) == []
                wait_for(lambda: alerts_cursor(instance), "the alerts sensor's first tick")
                os.kill(deployments["production"].details["pid"], signal.SIGKILL)
                wait_for(lambda: production_runs(instance), "the health check run the sensor starts", timeout_s=120)
                [(job, partition, sensor, passed, said)] = production_runs(instance)
                assert (job, partition, sensor, passed) == ("vso_health_production", AUTH, "deployment_health",
                                                            False)
                assert said.startswith(f"{AUTH} in production: GET {deployments['production'].url}/health: "
                                       "no answer")
                wait_for(lambda: received, "the alert of the unhealthy production slice")
                # A run that fails is an incident of its own: a slice deployed before it was ever built.
                failed = run_vso(project.root, "deploy", "--slice-id", "slice-002-todos", "--environment", "test")
                assert failed.returncode == 1, failed.stdout + failed.stderr
                wait_for(lambda: len(received) >= 2, "the alert of the failed run")
                time.sleep(3)  # more ticks: nothing is told twice
                told_while_down = len(received)
                still_down(project, deployments, instance)
                # Redeployed, it answers again: its check turns green, and the webhook hears it is over.
                deploy_local(project, AUTH, "production")
                wait_for(lambda: len(production_runs(instance)) == 2, "the health check run of the redeployed slice",
                         timeout_s=120)
                assert production_runs(instance)[0][3] is True  # newest first
                wait_for(lambda: len(received) > told_while_down, "the alert that the slice recovered")
                time.sleep(3)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
    # Each incident told once, and its end once. (On a loaded machine the test service may miss a
    # probe's timeout: that is an incident of its own, told once too, and not what this test is about.)
    assert all(set(body) == {"text"} for body in received), received
    texts = [body["text"] for body in received]
    down = [t for t in texts if t.startswith(f"proj: check health of production_deployment failed for {AUTH}: ")]
    assert len(down) == 1, texts
    assert f"{AUTH} in production: GET {deployments['production'].url}/health: no answer" in down[0]
    assert len([t for t in texts if t.startswith("proj: vso_deploy_test failed for slice-002-todos (run ")]) == 1
    up = [t for t in texts if t.startswith(f"proj: check health of production_deployment passes again for {AUTH}: ")]
    assert len(up) == 1 and up[0].endswith(": HTTP 200"), texts
    assert all(WEBHOOK_SECRET not in text and TOKEN not in text for text in texts)
    assert "production (local)" in run_vso(project.root, "status").stdout


def still_down(project, deployments, instance) -> None:
    """`vso health` and `vso status` say what the sensor saw and start no second check run; `vso health`
    refuses a slice that does not exist."""
    probed = run_vso(project.root, "health", "--json")
    assert probed.returncode == 1 and probed.stdout, probed.stderr[-3000:]
    answers = {a["environment"]: a for a in json.loads(probed.stdout)}
    assert answers["test"]["healthy"] is True and answers["test"]["answer"] == "HTTP 200"
    assert answers["production"]["healthy"] is False and answers["production"]["answer"].startswith("no answer")
    assert answers["production"]["url"] == deployments["production"].url
    status = run_vso(project.root, "status")  # as the last probe left it
    assert "production (local, UNHEALTHY)" in status.stdout and "test (local)" in status.stdout, status.stdout
    assert len(production_runs(instance)) == 1  # the check already says it is down
    shown = run_vso(project.root, "health", "--environment", "production")
    assert shown.returncode == 1 and "UNHEALTHY" in shown.stdout and "test" not in shown.stdout.split("━")[-1]
    unknown = run_vso(project.root, "health", "--slice-id", "slice-999-nope")
    assert unknown.returncode == 2 and "slice-999-nope: no such slice" in unknown.stderr
