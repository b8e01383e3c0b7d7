import time

import dagster as dg

from ..core.deploy_local import deploy_local
from ..core.errors import VSOError
from ..core.integration import production_blocker, run_integration_tests
from ..core.state import load_state, now, save_state
from ..implementation import slice_implementation
from ..lib.partitions import slices_partitions
from ..lib.resources import VSOProject

GROUP = "deployment"


def _deploy(context: dg.AssetExecutionContext, vso: VSOProject, environment: str) -> dg.MaterializeResult:
    started = time.monotonic()
    with vso.log_to("deployment") as project:
        try:
            deployment = deploy_local(project, context.partition_key, environment)
        except VSOError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
    context.log.info(f"{deployment.slice_id} serves {environment} at {deployment.url} (pid {deployment.pid})")
    return dg.MaterializeResult(metadata={
        "endpoint": dg.MetadataValue.url(deployment.url),
        "platform": "local",
        "environment": environment,
        "pid": deployment.pid,
        "duration_s": round(time.monotonic() - started, 2),
    })


@dg.asset(group_name=GROUP, kinds={"python"}, partitions_def=slices_partitions, deps=[slice_implementation])
def test_deployment(context: dg.AssetExecutionContext, vso: VSOProject) -> dg.MaterializeResult:
    """The slice serving in the test environment (platform `local`: loopback, health-gated; a
    failed deploy leaves the previous one serving)."""
    return _deploy(context, vso, "test")


@dg.asset(group_name=GROUP, kinds={"pytest"}, partitions_def=slices_partitions, deps=[test_deployment])
def integration_tests(context: dg.AssetExecutionContext, vso: VSOProject) -> dg.MaterializeResult:
    """tests/integration (and the latency-budget performance test) against the test endpoint."""
    with vso.log_to("deployment") as project:
        try:
            run = run_integration_tests(project, context.partition_key, "test")
        except VSOError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
    metadata = {
        "endpoint": dg.MetadataValue.url(run.url),
        "passed": run.tests.passed, "failed": run.tests.failed, "errors": run.tests.errors,
        "skipped": run.tests.skipped, "duration_s": round(run.tests.duration_s, 2),
        "failing": dg.MetadataValue.json(run.tests.failing),
    }
    if run.performance:
        metadata[f"p{run.performance['percentile']:g}_ms"] = round(run.performance["measured_ms"], 1)
        metadata["latency_budget_ms"] = run.performance["budget_ms"]
    if not (run.tests.green and run.tests.skipped == 0):
        raise dg.Failure(description=f"{context.partition_key}: integration tests failed ({run.tests.summary()})",
                         metadata=metadata, allow_retries=False)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(group_name=GROUP, kinds={"python"}, partitions_def=slices_partitions, deps=[integration_tests],
          output_required=False)
def production_deployment(context: dg.AssetExecutionContext, vso: VSOProject):
    """The slice serving in production, only after its integration tests passed against what is
    deployed in test now; otherwise skipped, with the reason in the run log."""
    project = vso.project()
    if reason := production_blocker(project, context.partition_key):
        context.log.warning(f"{context.partition_key}: production skipped: {reason}")
        return
    result = _deploy(context, vso, "production")
    with project.lock():
        state = load_state(project)
        state["slices"][context.partition_key].update(status="deployed", last_modified=now())
        save_state(project, state)
    yield result
