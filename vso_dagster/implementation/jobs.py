import dagster as dg

from ..lib.partitions import slices_partitions
from .assets import slice_implementation, unit_tests

# Tagged so dagster.yaml's tag limit (vso/stage=implementation) caps how many teams run at once.
implement_job = dg.define_asset_job(
    "vso_implement", selection=dg.AssetSelection.assets(slice_implementation), partitions_def=slices_partitions,
    tags={"vso/stage": "implementation"},
    description="Build one slice on its branch and worktree, then run its blocking unit_tests check.",
)
unit_tests_job = dg.define_asset_job(
    "vso_unit_tests", selection=dg.AssetSelection.checks(unit_tests), partitions_def=slices_partitions,
    tags={"vso/stage": "test"}, description="Run one slice's unit tests in its worktree (`vso test`).",
)
