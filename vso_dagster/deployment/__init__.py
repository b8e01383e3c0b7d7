"""slice_implementation -> test_deployment -> integration_tests -> production_deployment, and the
health of what serves: each deployment's `health` check and the sensor that probes it."""

from ..lib.naming import Naming
from ..lib.room import Room
from . import assets, jobs
from .checks import HEALTH_CHECK, health_checks
from .jobs import DELIVER_JOB, DEPLOY_PRODUCTION_JOB, DEPLOY_TEST_JOB, HEALTH_JOBS, INTEGRATION_JOB
from .sensors import health_sensor


def room(names: Naming, health_interval_s: int) -> Room:
    """`health_interval_s`: the project's [health] interval_seconds, for the health sensor."""
    built_jobs = jobs.build(names)
    health_jobs = {environment: built_jobs[job] for environment, job in HEALTH_JOBS.items()}
    return Room(assets=assets.build(names), asset_checks=health_checks(names), jobs=built_jobs,
                sensors=[health_sensor(names, health_interval_s, health_jobs)])


__all__ = ["room", "HEALTH_CHECK", "HEALTH_JOBS", "DELIVER_JOB", "DEPLOY_PRODUCTION_JOB", "DEPLOY_TEST_JOB",
           "INTEGRATION_JOB"]
