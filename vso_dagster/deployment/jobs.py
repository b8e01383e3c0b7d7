
from ..lib.jobs import asset_job
from ..lib.naming import Naming

DEPLOY_TEST_JOB, INTEGRATION_JOB = "vso_deploy_test", "vso_integration_tests"
DEPLOY_PRODUCTION_JOB, DELIVER_JOB = "vso_deploy_production", "vso_deliver"


def build(names: Naming) -> dict:
    common = {"partitions_def": names.slices, "tags": {"vso/stage": "deployment"}}
    test, integration, production = (names.key(a) for a in ("test_deployment", "integration_tests",
                                                             "production_deployment"))
    # `vso deploy` / `vso test --environment test` run one of the first three for one slice; `vso_deliver`
    # runs the whole path (test deploy, integration tests, production) in one run.
    return {
        DEPLOY_TEST_JOB: asset_job(names.name(DEPLOY_TEST_JOB), selection=[test], **common),
        INTEGRATION_JOB: asset_job(names.name(INTEGRATION_JOB), selection=[integration], **common),
        DEPLOY_PRODUCTION_JOB: asset_job(names.name(DEPLOY_PRODUCTION_JOB), selection=[production],
                                                   **common),
        DELIVER_JOB: asset_job(
            names.name(DELIVER_JOB), selection=[test, integration, production], **common,
            description="Deploy to test, run the integration tests, and promote to production only if they passed.",
        ),
    }
