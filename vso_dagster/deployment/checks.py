import dagster as dg

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
    # start when a slice's answer changed, or from the UI: Dagster records a partition's check
    # evaluation once per run.
    @dg.asset_check(asset=names.key(asset), name=HEALTH_CHECK, partitions_def=names.slices, blocking=False,
                    required_resource_keys={names.resource},
                    description=f"The slice answers GET /health with 200 in {environment}: probed by the "
                                "deployment_health sensor and `vso health`, which run this check when the answer "
                                "changes.")
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
