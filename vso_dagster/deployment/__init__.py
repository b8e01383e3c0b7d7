"""slice_implementation -> test_deployment -> integration_tests -> production_deployment."""

from ..lib.naming import Naming
from ..lib.room import Room
from . import assets, jobs
from .jobs import DELIVER_JOB, DEPLOY_PRODUCTION_JOB, DEPLOY_TEST_JOB, INTEGRATION_JOB


def room(names: Naming) -> Room:
    return Room(assets=assets.build(names), jobs=jobs.build(names))


__all__ = ["room", "DELIVER_JOB", "DEPLOY_PRODUCTION_JOB", "DEPLOY_TEST_JOB", "INTEGRATION_JOB"]
