"""The real `vso ui` (Dagster's webserver, daemon and code server) on a loopback port, and the GraphQL
API its pages call: what the tests of the UI path talk to."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from vso_dagster.core.base.project import Project
from vso_dagster.core.deployment.local import free_port

from .conftest import user_env, venv_bin

__all__ = ["DagsterUI", "free_port", "running_ui"]


@dataclass
class DagsterUI:
    url: str
    process: subprocess.Popen

    def graphql(self, query: str, **variables) -> dict:
        answer = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60)
        answer.raise_for_status()
        body = answer.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def wait_for_run(self, run_id: str, timeout: float = 180) -> str:
        """The run's final status, as the UI shows it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.graphql("query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                                  id=run_id)["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                return status
            time.sleep(0.5)
        raise AssertionError(f"run {run_id} did not finish in {timeout} s")


@contextmanager
def running_ui(project: Project, timeout: float = 180) -> Iterator[DagsterUI]:
    """`vso ui` as a user starts it, in the project, with nothing of the test's Dagster environment."""
    port = free_port()
    env = user_env()
    process = subprocess.Popen([venv_bin("vso"), "ui", "--port", str(port)], cwd=project.root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    ui = DagsterUI(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                # Up once the code location has loaded: its jobs are listed.
                data = ui.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name "
                                  "locationOrLoadError { __typename } } } } }")
                entries = data["workspaceOrError"]["locationEntries"]
                if entries and all(e["locationOrLoadError"] for e in entries):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            output = process.stdout.read1().decode(errors="replace") if process.poll() is not None else ""
            raise AssertionError(f"`vso ui` never served its code location\n{output}")
        yield ui
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
