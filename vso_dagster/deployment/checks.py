import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus,
    AssetCheckPartitionInfo,
)

from ..core.base.config import load_config
from ..core.base.state import load_state
from ..core.deployment.health import Probe, probe, record_health, served_endpoints
from ..lib.naming import Naming

HEALTH_CHECK = "health"
# The asset each environment's deployments are materializations of.
DEPLOYMENT_ASSETS = {"test": "test_deployment", "production": "production_deployment"}


def health_checks(names: Naming) -> list[dg.AssetChecksDefinition]:
    return [_health_check(names, environment, asset) for environment, asset in DEPLOYMENT_ASSETS.items()]


def _health_check(names: Naming, environment: str, asset: str) -> dg.AssetChecksDefinition:
    # Executed in a run of its own (a vso_health_* job), which the health sensor and `vso health`
    # start when a slice's answer is not what this check last said (see out_of_step), or from the UI:
    # Dagster records a partition's check evaluation once per run.
    @dg.asset_check(asset=names.key(asset), name=HEALTH_CHECK, partitions_def=names.slices, blocking=False,
                    required_resource_keys={names.resource},
                    description=f"The slice answers GET /health with 200 in {environment}: probed by the "
                                "deployment_health sensor and `vso health`, which run this check when the answer "
                                "is not what it last said.")
    def health(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        project = names.project_resource(context).project()
        slice_id = context.partition_key
        [endpoint] = served_endpoints(load_state(project), [environment], {slice_id}) or [None]
        if endpoint is None:
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                       description=f"{slice_id} serves nothing over HTTP in {environment}: "
                                                   "not deployed there, or a worker")
        answer = probe(endpoint, load_config(project).health.timeout_s)
        record_health(project, [answer])
        return dg.AssetCheckResult(passed=answer.healthy, metadata=_metadata(answer),
                                   description=f"{slice_id} in {environment}: GET {endpoint.url}/health: "
                                               f"{answer.detail}")

    return health


def _metadata(p: Probe) -> dict:
    return {"url": dg.MetadataValue.url(p.endpoint.url), "answer": p.detail,
            **({"millis": p.millis} if p.millis is not None else {})}


def out_of_step(instance: dg.DagsterInstance, names: Naming, probes: list[Probe]) -> list[Probe]:
    """The answers the health check does not show yet: a slice fallen ill whose check passed (or never
    ran: a deploy saw it healthy), and one answering again, recovered or redeployed, whose check
    failed. Compared with the check itself, not with the last answer, so a redeploy that replaced
    an ill slice turns its check green. A check whose run is still out is left to that run."""
    shown: dict[tuple[str, str], bool | None] = {}
    for environment, asset in DEPLOYMENT_ASSETS.items():
        slice_ids = [p.endpoint.slice_id for p in probes if p.endpoint.environment == environment]
        if not slice_ids:
            continue
        for info in instance.event_log_storage.get_asset_check_partition_info(
                [names.check(asset, HEALTH_CHECK)], partition_keys=slice_ids):
            shown[(environment, info.partition_key)] = _passing(instance, info)
    return [p for p in probes
            if shown.get((p.endpoint.environment, p.endpoint.slice_id), True) not in (None, p.healthy)]


def _passing(instance: dg.DagsterInstance, info: AssetCheckPartitionInfo) -> bool | None:
    """What the check shows for one slice: passing, failing, or None while its run is out."""
    status = info.latest_execution_status
    if status == AssetCheckExecutionRecordStatus.PLANNED:
        run = instance.get_run_by_id(info.latest_planned_run_id)
        return True if run is None or run.is_finished else None  # a run that ended unevaluated said nothing
    return status == AssetCheckExecutionRecordStatus.SUCCEEDED
