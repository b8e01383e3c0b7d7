"""Master spec -> slice plan -> slice specs: the first stretch of the asset graph."""

from ..lib.naming import Naming
from ..lib.room import Room
from . import assets, jobs
from .jobs import PLAN_JOB, SLICE_SPEC_JOB, SPEC_SYNC_JOB


def room(names: Naming) -> Room:
    built_assets, checks = assets.build(names)
    return Room(assets=built_assets, asset_checks=checks, jobs=jobs.build(names))


__all__ = ["room", "PLAN_JOB", "SLICE_SPEC_JOB", "SPEC_SYNC_JOB"]
