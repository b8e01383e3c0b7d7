"""slice_spec -> slice_implementation: each slice built on its own branch, gated by its unit tests."""

from ..lib.naming import Naming
from ..lib.room import Room
from . import assets, jobs
from .assets import AGENT_POOL, BUDGET_TAG
from .jobs import IMPLEMENT_JOB, UNIT_TESTS_JOB
from .sensors import implementation_waves


def room(names: Naming) -> Room:
    built_assets, checks = assets.build(names)
    built_jobs = jobs.build(names)
    return Room(assets=built_assets, asset_checks=checks, jobs=built_jobs,
                sensors=[implementation_waves(names, built_jobs[IMPLEMENT_JOB])])


__all__ = ["room", "AGENT_POOL", "BUDGET_TAG", "IMPLEMENT_JOB", "UNIT_TESTS_JOB"]
