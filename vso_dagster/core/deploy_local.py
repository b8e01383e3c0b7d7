"""Platform `local`: a slice's service on loopback, on a free port, as a process of its own.

A deployment counts only once its health check passes. Redeploying starts the new process first
and stops the old one only after the new one is healthy, so a failed deploy leaves the previous
good one serving. A pid is only ever signalled after checking it is still the service VSO started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import VSOError
from .project import Project
from .state import load_state, now, save_state
from .worktrees import existing_worktree

HEALTH_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class LocalDeployment:
    slice_id: str
    environment: str
    pid: int
    port: int
    url: str
    source: str
    deployed_at: str


def service_dir(project: Project, slice_id: str) -> Path:
    """The implementation on the slice's branch when a team built one, else the project's skeleton."""
    worktree = existing_worktree(project, slice_id)
    base = worktree.slice_dir if worktree else project.slice_dir(slice_id)
    path = base / "service"
    if not (path / "main.py").exists():
        raise VSOError(f"{project.relative(path / 'main.py')}: no service to deploy; run `vso decompose` first")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def deploy_local(project: Project, slice_id: str, environment: str) -> LocalDeployment:
    source = service_dir(project, slice_id)
    log_path = project.make_dir(project.logs_dir / slice_id) / f"{environment}-service.log"
    last_error = ""
    for _attempt in range(3):  # a port taken between choosing and binding: try another one
        port = free_port()
        process = _start(source, port, log_path)
        error = _wait_healthy(process, port)
        if error is None:
            break
        _stop_process(process.pid)
        last_error = error
    else:
        raise VSOError(f"{slice_id}: the service never became healthy ({last_error}); see "
                       f"{project.relative(log_path)}. The previous deployment, if any, keeps serving.")
    deployment = LocalDeployment(slice_id, environment, process.pid, port, f"http://127.0.0.1:{port}",
                                 str(source), now())
    previous = _record(project, deployment)
    if previous:
        stop_if_ours(previous["pid"], previous["source"])
    return deployment


def destroy_local(project: Project, slice_id: str, environment: str) -> bool:
    """Stops the slice's service in that environment; False when none was deployed."""
    with project.lock():
        state = load_state(project)
        env = state["deployments"].setdefault(environment, {"slices_deployed": []})
        previous = env.get("endpoints", {}).pop(slice_id, None)
        if slice_id in env["slices_deployed"]:
            env["slices_deployed"].remove(slice_id)
        save_state(project, state)
    if previous:
        stop_if_ours(previous["pid"], previous["source"])
    return previous is not None


def deployments(project: Project, environment: str) -> dict[str, dict]:
    return load_state(project)["deployments"].get(environment, {}).get("endpoints", {})


def _start(source: Path, port: int, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"],
            cwd=source, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_healthy(process: subprocess.Popen, port: int) -> str | None:
    """None once GET /health answers 200; else why not."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"the process exited with status {process.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                if answer.status == 200:
                    return None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    return f"GET /health did not answer 200 within {HEALTH_TIMEOUT_S:.0f}s"


def _record(project: Project, deployment: LocalDeployment) -> dict | None:
    """Writes the deployment into state.json (the seed's `deployments` shape, plus `endpoints`)."""
    with project.lock():
        state = load_state(project)
        env = state["deployments"].setdefault(deployment.environment, {"slices_deployed": []})
        previous = env.setdefault("endpoints", {}).get(deployment.slice_id)
        env["endpoints"][deployment.slice_id] = {"platform": "local", **asdict(deployment)}
        if deployment.slice_id not in env["slices_deployed"]:
            env["slices_deployed"].append(deployment.slice_id)
        save_state(project, state)
    return previous


def stop_if_ours(pid: int, source: str) -> bool:
    """SIGTERM to the service's process group, only if that pid still runs uvicorn from `source`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    if b"uvicorn" not in cmdline or cwd != source:
        return False
    _stop_process(pid)
    return True


def _stop_process(pid: int, timeout_s: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = pid if not Path(f"/proc/{pid}").exists() else 0
        if finished:
            return
        time.sleep(0.05)
    os.killpg(pid, signal.SIGKILL)
