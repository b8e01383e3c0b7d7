"""`vso health`: the probe the health sensor makes, now, with the same consequences."""

from __future__ import annotations

from collections.abc import Collection

import dagster as dg

from ..core.base.config import load_config
from ..core.base.project import Project
from ..core.deployment.health import Probe, probe_all, record_health
from ..deployment.checks import out_of_step
from ..deployment.jobs import HEALTH_JOBS
from ..lib.naming import Naming
from .checks import run_check_job
from .runs import RunStarter


def probe_now(project: Project, instance: dg.DagsterInstance, environments: Collection[str],
              slice_ids: Collection[str] | None = None, *, verbose: bool = False) -> list[Probe]:
    """Each answer its health check does not show yet runs that check for the slice, as the
    sensor's run would; the others are as the UI shows them already."""
    probes = probe_all(project, environments, slice_ids, load_config(project).health.timeout_s)
    record_health(project, probes)
    runs = RunStarter.for_project(project, instance)
    for answer in out_of_step(instance, Naming(), probes):
        run_check_job(runs, HEALTH_JOBS[answer.endpoint.environment], answer.endpoint.slice_id, verbose=verbose)
    return probes
