"""Where each slice is deployed: `state.json`'s `deployments.<env>` (`slices_deployed`,
plus `endpoints` with what VSO needs to test, promote and tear the deployment down).

Every platform records a deployment only once its health check passed, and the previous record
stays until then: a failed deploy leaves the last good one in place, in the state as in the world.
"""

from __future__ import annotations

import logging
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import VSOError
from ..base.log_sources import LogSource, file_source
from ..base.model import SERVICE, WORKER
from ..base.project import SERVICE_FILE, Project
from ..base.state import endpoints_in, load_state, now, record_deployment
from ..base.worktrees import existing_worktree

log = logging.getLogger("vso.deploy")


@dataclass(frozen=True)
class Deployment:
    slice_id: str
    environment: str
    platform: str
    url: str
    # The platform's own facts: pid/port/source (local), Terraform outputs (hetzner), app (modal).
    details: dict = field(default_factory=dict)
    deployed_at: str = field(default_factory=now)
    # Unique per deploy: the production gate checks the tests ran against this very deployment.
    id: str = field(default_factory=lambda: secrets.token_hex(6))

    def entry(self) -> dict:
        return {"slice_id": self.slice_id, "environment": self.environment, "platform": self.platform,
                "url": self.url, "deployed_at": self.deployed_at, "id": self.id, **self.details}


# What a local deployment's process is called, by the slice's kind.
PROCESS = {SERVICE: "service", WORKER: "job"}


def output_log_name(environment: str, kind: str) -> str:
    """The file in `logs/<slice>/` where a local deployment's process writes: a service's, a job's."""
    return f"{environment}-{PROCESS[kind]}.log"


def deployment_logs(project: Project, slice_id: str, environments: tuple[str, ...]) -> list[LogSource]:
    """`vso logs --deploy`: what the slice's local processes wrote in each environment, and the
    lines of VSO's deployment log (Terraform's verdicts, Modal's output, health checks) about it."""
    sources = [file_source(f"{env} {process}", path)
               for env in environments for kind, process in PROCESS.items()
               if (path := project.logs_dir / slice_id / output_log_name(env, kind)).exists()]
    return [*sources, file_source("deployment", project.logs_dir / "deployment.log", lambda line: slice_id in line)]


def built_file(project: Project, slice_id: str, rel: str, what: str) -> Path:
    """A file of the slice's implementation (`rel` in its directory): the branch's copy when a team
    built one, else the project's skeleton. `what` names it in the error when there is neither."""
    worktree = existing_worktree(project, slice_id)
    path = (worktree.slice_dir if worktree else project.slice_dir(slice_id)) / rel
    if not path.exists():
        raise VSOError(f"{project.relative(path)}: no {what}; run `vso decompose` first")
    return path


def service_dir(project: Project, slice_id: str) -> Path:
    return built_file(project, slice_id, SERVICE_FILE, "service to deploy").parent


def deployments(project: Project, environment: str) -> dict[str, dict]:
    return endpoints_in(load_state(project), environment)


def record(project: Project, deployment: Deployment) -> dict | None:
    """Writes the deployment into state.json; returns the record it replaced."""
    previous = record_deployment(project, deployment.slice_id, deployment.environment, deployment.entry())
    log.info(f"{deployment.slice_id} serves {deployment.environment} at {deployment.url} ({deployment.platform})")
    return previous


def tested_commit(project: Project, slice_id: str) -> str | None:
    """The commit the slice's unit tests last passed on, which is what a deploy ships."""
    return load_state(project)["slices"].get(slice_id, {}).get("tested_commit")


def wait_healthy(url: str, timeout_s: float, still_running: Callable[[], str | None] = lambda: None) -> str | None:
    """None once GET <url>/health answers 200; else why not. `still_running` names a reason to give
    up early (a local process that exited)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if reason := still_running():
            return reason
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=min(5.0, timeout_s)) as answer:
                if answer.status == 200:
                    return None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.05 if timeout_s <= 60 else 2.0)
    return f"GET {url}/health did not answer 200 within {timeout_s:.0f}s"
