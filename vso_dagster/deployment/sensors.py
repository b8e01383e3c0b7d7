from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import dagster as dg

from ..core.base.config import load_config
from ..core.base.errors import VSOError
from ..core.deployment.health import probe_all, record_health
from ..lib.naming import Naming
from .checks import out_of_step

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


# Why: a deploy checks health once, and a slice can stop answering any time after (its process died,
# its server rebooted). This probes every recorded endpoint in test and production and keeps the
# answer in state.json (`vso status` shows an unhealthy slice). An answer the slice's health check
# does not show yet starts a run of that environment's check for the slice, so a failing production
# slice shows red in the UI, and green again once it answers (recovered, or redeployed).
# Guards: a steady project (every check saying what its slice answers) starts no run and writes
# nothing; a check whose run is still out gets no second one; a deployment replaced while it was
# probed keeps no answer. Off by default: it probes production, and each change costs a run.
def health_sensor(names: Naming, interval_s: int,
                  health_jobs: Mapping[str, UnresolvedAssetJobDefinition]) -> dg.SensorDefinition:
    """`health_jobs`: each environment's check job."""
    @dg.sensor(name=names.name("deployment_health"), jobs=list(health_jobs.values()),
               minimum_interval_seconds=interval_s, default_status=dg.DefaultSensorStatus.STOPPED,
               required_resource_keys={names.resource},
               description=f"Every {interval_s} s ([health] interval_seconds): GET /health of every deployed slice "
                           "in test and production; an answer its health check does not show yet runs that check "
                           "for the slice. Starts no agent work and costs no money. Off until you turn it on.")
    def deployment_health(context: dg.SensorEvaluationContext):
        project = names.project_resource(context).project()
        try:
            timeout_s = load_config(project).health.timeout_s
        except VSOError as error:
            return dg.SkipReason(str(error))
        probes = probe_all(project, timeout_s=timeout_s)
        record_health(project, probes)
        stale = out_of_step(context.instance, names, probes)
        if not stale:
            return dg.SkipReason(f"{len(probes)} endpoints probed; each health check says what they answered")
        # The slice by its partition tag: Dagster gives a job of checks alone no partitions of its own.
        return [dg.RunRequest(job_name=health_jobs[p.endpoint.environment].name,
                              tags={"dagster/partition": p.endpoint.slice_id, "vso/health": p.detail})
                for p in stale]

    return deployment_health
