"""slice_implementation -> test_deployment -> integration_tests -> production_deployment."""

from .assets import integration_tests, production_deployment, test_deployment
from .jobs import deliver_job, deploy_production_job, deploy_test_job, integration_job  # noqa: E402

assets = [test_deployment, integration_tests, production_deployment]
jobs = [deploy_test_job, integration_job, deploy_production_job, deliver_job]
