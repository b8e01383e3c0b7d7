"""Platform `local`: a slice's service on loopback, on a free port, as a process of its own.

A deployment counts only once its health check passes. Redeploying starts the new process first
and stops the old one only after the new one is healthy, so a failed deploy leaves the previous
good one serving. A pid is only ever signalled after checking it is still the service VSO started.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from ..base.config import load_config
from ..base.errors import VSOError
from ..base.model import SERVICE
from ..base.process_group import processes_marked, stop_group
from ..base.project import Project
from ..base.secrets import slice_env
from ..base.slice_environment import slice_environment
from ..base.state import forget_deployment
from .deployments import Deployment, log, output_log_name, record, service_dir, wait_healthy
from .storage import local_database

HEALTH_TIMEOUT_S = 20.0
# In each local service's environment: which project, slice and environment it serves.
SERVICE_MARK = "VSO_SERVICE"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def deploy_local(project: Project, slice_id: str, environment: str,
                 wiring: dict[str, str] | None = None) -> Deployment:
    """`wiring`: VSO_DEP_<SLICE>_URL of each slice it calls (wiring.py), set in the service's environment
    with its database (storage.py)."""
    source = service_dir(project, slice_id)
    database = local_database(project, slice_id, environment)
    python = slice_environment(project, source.parent).python
    log_path = project.make_dir(project.logs_dir / slice_id) / output_log_name(environment, SERVICE)
    last_error = ""
    for _attempt in range(3):  # a port taken between choosing and binding: try another one
        port = free_port()
        log.info(f"{slice_id}: starting {project.relative(source)} on 127.0.0.1:{port} ({environment})")
        process = _start(project, python, source, port, log_path,
                         {**(wiring or {}), **database, SERVICE_MARK: service_marker(project, slice_id, environment)})
        last_error = wait_healthy(f"http://127.0.0.1:{port}", HEALTH_TIMEOUT_S, lambda p=process: _exited(p))
        if last_error is None:
            break
        log.warning(f"{slice_id}: not healthy on port {port}: {last_error}")
        stop_group(process.pid)
    else:
        raise VSOError(f"{slice_id}: the service never became healthy ({last_error}); see "
                       f"{project.relative(log_path)}. The previous deployment, if any, keeps serving.")
    deployment = Deployment(slice_id, environment, "local", f"http://127.0.0.1:{port}",
                            {"pid": process.pid, "port": port, "source": str(source), "wiring": wiring or {},
                             **database})
    previous = record(project, deployment)
    if previous and "pid" in previous:
        stop_if_ours(previous["pid"], previous["source"])
    stop_strays(project, slice_id, environment, keep=process.pid)
    return deployment


def destroy_local(project: Project, slice_id: str, environment: str) -> bool:
    """Stops the slice's service in that environment; False when none was deployed."""
    previous = forget_deployment(project, slice_id, environment)
    if previous and "pid" in previous:
        stop_if_ours(previous["pid"], previous["source"])
    strays = stop_strays(project, slice_id, environment)
    return previous is not None or bool(strays)


def service_marker(project: Project, slice_id: str, environment: str) -> str:
    """The value of SERVICE_MARK in the environment of each local service VSO starts."""
    return f"{project.root}|{slice_id}|{environment}"


def stop_strays(project: Project, slice_id: str, environment: str, keep: int | None = None) -> list[int]:
    """Stops the slice's services in that environment that state.json does not record (a deploy
    killed before it could record the one it started): found by their marker, not by a record."""
    strays = [pid for pid in processes_marked(SERVICE_MARK, service_marker(project, slice_id, environment))
              if pid != keep and _leads_its_group(pid)]
    for pid in strays:
        log.info(f"{slice_id}: stopping a service no deployment records (pid {pid}, {environment})")
        stop_group(pid)
    return strays


def _start(project: Project, python: str, source: Path, port: int, log_path: Path,
           env: dict[str, str]) -> subprocess.Popen:
    with project.open_append(log_path) as log:
        return subprocess.Popen(
            [python, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"],
            cwd=source, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=slice_env(load_config(project).pass_env, **env))


def _leads_its_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def _exited(process: subprocess.Popen) -> str | None:
    return None if process.poll() is None else f"the process exited with status {process.returncode}"


def stop_if_ours(pid: int, source: str) -> bool:
    """SIGTERM to the service's process group, only if that pid still runs uvicorn from `source`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    if b"uvicorn" not in cmdline or cwd != source:
        return False
    stop_group(pid)
    return True
