import dagster as dg

from ..lib.partitions import slices_partitions
from .assets import integration_tests, production_deployment, test_deployment

_common = {"partitions_def": slices_partitions, "tags": {"vso/stage": "deployment"}}

# `vso deploy` / `vso test --environment test` run one of these for one slice; `vso_deliver` runs the
# whole path (test deploy, integration tests, production) in one run.
deploy_test_job = dg.define_asset_job("vso_deploy_test", selection=[test_deployment], **_common)
integration_job = dg.define_asset_job("vso_integration_tests", selection=[integration_tests], **_common)
deploy_production_job = dg.define_asset_job("vso_deploy_production", selection=[production_deployment], **_common)
deliver_job = dg.define_asset_job(
    "vso_deliver", selection=[test_deployment, integration_tests, production_deployment], **_common,
    description="Deploy to test, run the integration tests, and promote to production only if they passed.",
)
