from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import dagster as dg

from ..core.base.config import load_config
from ..core.base.errors import VSOError
from ..core.deployment.health import probe_all, record_health
from ..lib.naming import Naming

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


# Why: a deploy checks health once, and a slice can stop answering any time after (its process died,
# its server rebooted). This probes every recorded endpoint in test and production and keeps the
# answer in state.json (`vso status` shows an unhealthy slice). A changed answer starts a run of that
# environment's health check for the slice, so a failing production slice shows red in the UI.
# Guards: a steady project (every slice answering as its deploy saw it) starts no run and writes
# nothing; a deployment replaced while it was probed keeps no answer. Off by default: it probes
# production, and each change costs a run.
def health_sensor(names: Naming, interval_s: int,
                  health_jobs: Mapping[str, UnresolvedAssetJobDefinition]) -> dg.SensorDefinition:
    """`health_jobs`: each environment's check job."""
    @dg.sensor(name=names.name("deployment_health"), jobs=list(health_jobs.values()),
               minimum_interval_seconds=interval_s, default_status=dg.DefaultSensorStatus.STOPPED,
               required_resource_keys={names.resource},
               description=f"Every {interval_s} s ([health] interval_seconds): GET /health of every deployed slice "
                           "in test and production; a changed answer runs that deployment's health check for the "
                           "slice. Starts no agent work and costs no money. Off until you turn it on.")
    def deployment_health(context: dg.SensorEvaluationContext):
        project = names.project_resource(context).project()
        try:
            timeout_s = load_config(project).health.timeout_s
        except VSOError as error:
            return dg.SkipReason(str(error))
        probes = probe_all(project, timeout_s=timeout_s)
        changed = record_health(project, probes)
        if not changed:
            return dg.SkipReason(f"{len(probes)} endpoints probed; every answer is as it was")
        # The slice by its partition tag: Dagster gives a job of checks alone no partitions of its own.
        return [dg.RunRequest(job_name=health_jobs[p.endpoint.environment].name,
                              tags={"dagster/partition": p.endpoint.slice_id, "vso/health": p.detail})
                for p in changed]

    return deployment_health
