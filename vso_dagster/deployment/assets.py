import logging
import time

import dagster as dg
from pydantic import Field

from ..core.base.config import load_config
from ..core.base.errors import VSOError
from ..core.base.project import Project
from ..core.base.remote_checkout import share_branch
from ..core.base.state import mark_deployed
from ..core.deployment.approval import APPROVED, give
from ..core.deployment.deploy import deploy
from ..core.deployment.deployments import deployments
from ..core.deployment.integration import production_blocker, run_integration_tests
from ..core.deployment.merge_back import merge_slice_branch
from ..lib.naming import Naming
from ..lib.run_records import slice_run_project, state_record

GROUP = "deployment"
# Where a deployment can run: loopback (a Python process), Hetzner through Terraform, or Modal.
PLATFORM_KINDS = {"python", "terraform", "modal"}


class DeployConfig(dg.Config):
    platform: str = Field(default="", description="local, hetzner, modal, or planned (each slice where its plan "
                                                  "says); empty: [deploy] platform in "
                                                  ".slice-orchestrator/config.toml, else local")
    approved_by: str = Field(default="", description="production only, where [deploy] require_approval is true: "
                                                     "who approves the slice that passed its integration tests "
                                                     "(what `vso approve SLICE --by NAME` records)")


def _deploy(context: dg.AssetExecutionContext, names: Naming, environment: str,
            config: DeployConfig) -> dg.MaterializeResult:
    started = time.monotonic()
    with names.project_resource(context).log_to("deployment", context) as project:
        try:
            slice_run_project(context, names)
            deployment = deploy(project, context.partition_key, environment,
                                config.platform or load_config(project).platform)
        except VSOError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
    details = deployment.details
    metadata = {
        # A worker's deploy is a run of its job: no endpoint, and what the run said it did instead.
        **({"endpoint": dg.MetadataValue.url(deployment.url)} if deployment.url else {}),
        **({"job_summary": dg.MetadataValue.json(details["summary"])} if "summary" in details else {}),
        # The commit that serves: the one the slice's unit tests passed on.
        "commit": deployments(project, environment)[deployment.slice_id].get("commit") or "",
        "platform": deployment.platform,
        "environment": environment,
        "duration_s": round(time.monotonic() - started, 2),
        **({"pid": details["pid"]} if "pid" in details else {}),
        # Terraform outputs as recorded: sensitive ones already replaced by a placeholder.
        **({"terraform_outputs": dg.MetadataValue.json(details["outputs"])} if "outputs" in details else {}),
        **({"modal_app": details["app"]} if "app" in details else {}),
        **state_record(project, deployment.slice_id),
    }
    return dg.MaterializeResult(metadata=metadata)


def _shared(project: Project) -> str:
    """Where runs work in clones: the merge home, pushed for the other machines. A push that fails
    leaves the slice serving and says so (the next slice to go home pushes both)."""
    config = load_config(project)
    if not config.runs_in_clones:
        return ""
    try:
        share_branch(project, config.remote, config.sync_branch)
    except VSOError as error:
        logging.getLogger("vso.deploy").warning(str(error))
        return f"; not pushed to {config.remote}: {error}"
    return f"; pushed to {config.remote}"


def build(names: Naming) -> list:
    """The deployment path's assets, named for one project."""
    # Each asks for the project's VSOProject by its key.
    common = {"group_name": GROUP, "partitions_def": names.slices, "required_resource_keys": {names.resource}}

    # Its upstream is another room's asset, named by its key: the rooms do not import one another.
    @dg.asset(key=names.key("test_deployment"), kinds=PLATFORM_KINDS, deps=[names.key("slice_implementation")],
              **common)
    def test_deployment(context: dg.AssetExecutionContext, config: DeployConfig) -> dg.MaterializeResult:
        """The slice serving in the test environment, health-gated; a failed deploy leaves the previous one
        serving and recorded. Platform: run config, else config.toml's [deploy] platform, else local."""
        return _deploy(context, names, "test", config)

    @dg.asset(key=names.key("integration_tests"), kinds={"pytest"}, deps=[test_deployment], **common,
              check_specs=[dg.AssetCheckSpec("integration_junit", asset=names.key("integration_tests"), blocking=True,
                                             description="The slice's integration and performance tests, and the "
                                                         "end-to-end tests of its dependency paths, all passed "
                                                         "(JUnit); production waits for it")])
    def integration_tests(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """tests/integration (and the latency-budget performance test) against the test endpoint, then
        tests/e2e once every slice on its dependency paths serves test; for a worker, its job's run in
        test. The run is recorded either way; its blocking check fails when a test did, so production
        does not follow."""
        with names.project_resource(context).log_to("deployment", context) as project:
            try:
                slice_run_project(context, names)
                run = run_integration_tests(project, context.partition_key, "test")
            except VSOError as error:
                raise dg.Failure(description=str(error), allow_retries=False) from None
        metadata: dict = {"platform": run.platform}
        if run.tests is None:
            metadata["job_summary"] = dg.MetadataValue.json(run.job_summary)
        else:
            metadata.update({
                "endpoint": dg.MetadataValue.url(run.url),
                "passed": run.tests.passed, "failed": run.tests.failed, "errors": run.tests.errors,
                "skipped": run.tests.skipped, "duration_s": round(run.tests.duration_s, 2),
                "failing": dg.MetadataValue.json(run.tests.failing),
            })
        if e2e := run.e2e:
            # Each dependency path that ends at the slice, and whether a request went all along it.
            metadata["end_to_end"] = e2e.summary()
            metadata["dependency_paths"] = dg.MetadataValue.json(
                [{"path": " -> ".join(p["path"]), "result": p["result"]} for p in e2e.paths])
        if perf := run.performance:
            # p50, p95 and p99 of what the test loaded; the budget's own percentile among them.
            metadata.update({key: round(perf[key], 1) for key in ("p50_ms", "p95_ms", "p99_ms") if key in perf})
            metadata[f"p{perf['percentile']:g}_ms"] = round(perf["measured_ms"], 1)
            metadata["latency_budget_ms"] = perf["budget_ms"]
            # "paths" (GETs only) is what a performance test generated before budgets had a scope wrote.
            if load := perf.get("load") or [f"GET {path}" for path in perf.get("paths", [])]:
                metadata["perf_load"] = f"{perf['requests']} requests to {', '.join(load)}, " \
                                        f"{perf['concurrency']} at a time"
        check = dg.AssetCheckResult(check_name="integration_junit", passed=run.passed, metadata=metadata,
                                    description=f"{context.partition_key}: integration tests "
                                                f"{'passed' if run.passed else 'failed'} ({run.summary()})")
        return dg.MaterializeResult(metadata={**metadata, **state_record(project, context.partition_key)},
                                    check_results=[check])

    @dg.asset(key=names.key("production_deployment"), kinds=PLATFORM_KINDS, deps=[integration_tests],
              output_required=False, **common)
    def production_deployment(context: dg.AssetExecutionContext, config: DeployConfig):
        """The slice serving in production, only after its integration tests passed against what is
        deployed in test now; otherwise skipped, with the reason in the run log."""
        vso = names.project_resource(context)
        try:
            project = slice_run_project(context, names)
            if config.approved_by:  # the approval given where the run was launched (the UI's launchpad)
                give(project, context.partition_key, APPROVED, by=config.approved_by)
        except VSOError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
        if reason := production_blocker(project, context.partition_key):
            with vso.log_to("deployment", context):
                logging.getLogger("vso.deploy").warning(f"{context.partition_key}: production skipped: {reason}")
            # The reason, as an event of the asset (shown in the UI, read by the launch layer), not only a log line.
            yield dg.AssetObservation(asset_key=context.asset_key, partition=context.partition_key,
                                      metadata={"skipped": reason})
            return
        result = _deploy(context, names, "production", config)
        mark_deployed(project, context.partition_key)
        with vso.log_to("deployment", context):
            home = merge_slice_branch(project, context.partition_key)
            detail = home.detail + (_shared(project) if home.result == "merged" else "")
        context.log.info(f"{context.partition_key}: branch {home.result}: {detail}")
        yield dg.MaterializeResult(metadata={**result.metadata, "merged_to_main": home.result, "merge_detail": detail,
                                             **state_record(project, context.partition_key)})

    return [test_deployment, integration_tests, production_deployment]
