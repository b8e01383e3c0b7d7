import dagster as dg

from ..lib.jobs import asset_job
from ..lib.naming import Naming
from .checks import DEPLOYMENT_ASSETS, HEALTH_CHECK

DEPLOY_TEST_JOB, INTEGRATION_JOB = "vso_deploy_test", "vso_integration_tests"
DEPLOY_PRODUCTION_JOB, DELIVER_JOB = "vso_deploy_production", "vso_deliver"
# Each environment's health check alone, for one slice.
HEALTH_JOBS = {"test": "vso_health_test", "production": "vso_health_production"}


def build(names: Naming) -> dict:
    common = {"partitions_def": names.slices, "tags": {"vso/stage": "deployment"}}
    # A deploy is health-gated already: the health checks run in jobs of their own.
    health = dg.AssetSelection.checks(*(names.check(asset, HEALTH_CHECK) for asset in DEPLOYMENT_ASSETS.values()))
    health_jobs = {
        job: asset_job(names.name(job), selection=dg.AssetSelection.checks(
            names.check(DEPLOYMENT_ASSETS[environment], HEALTH_CHECK)), partitions_def=names.slices,
            tags={"vso/stage": "health"}, description=f"The slice's health check in {environment}: GET /health.")
        for environment, job in HEALTH_JOBS.items()}

    def deploying(*assets: str) -> dg.AssetSelection:
        return dg.AssetSelection.assets(*(names.key(a) for a in assets)) - health

    # `vso deploy` / `vso test --environment test` run one of the first three for one slice; `vso_deliver`
    # runs the whole path (test deploy, integration tests, production) in one run.
    return {
        DEPLOY_TEST_JOB: asset_job(names.name(DEPLOY_TEST_JOB), selection=deploying("test_deployment"), **common),
        INTEGRATION_JOB: asset_job(names.name(INTEGRATION_JOB), selection=deploying("integration_tests"), **common),
        DEPLOY_PRODUCTION_JOB: asset_job(names.name(DEPLOY_PRODUCTION_JOB),
                                         selection=deploying("production_deployment"), **common),
        DELIVER_JOB: asset_job(
            names.name(DELIVER_JOB),
            selection=deploying("test_deployment", "integration_tests", "production_deployment"), **common,
            description="Deploy to test, run the integration tests, and promote to production only if they passed.",
        ),
        **health_jobs,
    }
