"""A worker slice's deploy: one run of its job in the environment, on this machine.

A job answers no requests, so nothing stays up to health-check. What shows it works where it is
deployed is a run there: `python worker/job.py` with VSO_ENVIRONMENT set, which must exit 0 and
print its summary as a JSON line. That run is recorded as the slice's deployment in that
environment, and it is what the gate to production looks at. A failed run records nothing.
"""

from __future__ import annotations

import json
import subprocess

from ..base.config import load_config
from ..base.errors import VSOError
from ..base.model import WORKER
from ..base.project import JOB_FILE, Project
from ..base.secrets import slice_env
from ..base.slice_environment import slice_environment
from ..base.state import forget_deployment
from .deployments import Deployment, built_file, log, output_log_name, record
from .storage import local_database

RUN_TIMEOUT_S = 600.0
JOB = "job"  # a deployment record's `kind` when it is a job's run


def run_job(project: Project, slice_id: str, environment: str, wiring: dict[str, str] | None = None) -> Deployment:
    """`wiring`: VSO_DEP_<SLICE>_URL of each service the job calls, in its environment."""
    job = built_file(project, slice_id, JOB_FILE, "job to run")
    log_path = project.make_dir(project.logs_dir / slice_id) / output_log_name(environment, WORKER)
    log.info(f"{slice_id}: running {project.relative(job)} ({environment})")
    try:
        python = slice_environment(project, job.parent.parent).python
        done = subprocess.run([python, str(job)], cwd=job.parent, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT_S,
                              env=slice_env(load_config(project).pass_env, **(wiring or {}),
                                            **local_database(project, slice_id, environment),
                                            VSO_ENVIRONMENT=environment))
    except subprocess.TimeoutExpired:
        raise VSOError(f"{slice_id}: the job did not finish within {RUN_TIMEOUT_S:.0f}s in {environment}; "
                       f"nothing was recorded") from None
    project.write(log_path, (done.stdout + done.stderr).encode())
    summary = _summary(done.stdout)
    if done.returncode != 0 or summary is None:
        why = f"exited {done.returncode}" if done.returncode else "printed no JSON summary line"
        raise VSOError(f"{slice_id}: the job {why} in {environment}; see {project.relative(log_path)}. "
                       f"Nothing was recorded")
    deployment = Deployment(slice_id, environment, "local", "",
                            {"kind": JOB, "summary": summary, "log": project.relative(log_path),
                             "wiring": wiring or {}})
    record(project, deployment)
    log.info(f"{slice_id}: the job ran to completion in {environment}: {json.dumps(summary, sort_keys=True)}")
    return deployment


def forget_run(project: Project, slice_id: str, environment: str) -> bool:
    """A job's run leaves nothing running: taking it down only forgets it."""
    return forget_deployment(project, slice_id, environment) is not None


def _summary(stdout: str) -> dict | None:
    lines = stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None
    return summary if isinstance(summary, dict) else None
