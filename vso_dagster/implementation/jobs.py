import dagster as dg

from ..lib.jobs import asset_job
from ..lib.naming import Naming

IMPLEMENT_JOB, UNIT_TESTS_JOB = "vso_implement", "vso_unit_tests"


def build(names: Naming) -> dict:
    implementation = names.key("slice_implementation")
    return {
        # Tagged so dagster.yaml's tag limit (vso/stage=implementation) caps how many teams run at once.
        IMPLEMENT_JOB: asset_job(
            names.name(IMPLEMENT_JOB), selection=dg.AssetSelection.assets(implementation),
            partitions_def=names.slices, tags={"vso/stage": "implementation"},
            description="Build one slice on its branch and worktree, then run its blocking unit_tests check.",
        ),
        UNIT_TESTS_JOB: asset_job(
            names.name(UNIT_TESTS_JOB), selection=dg.AssetSelection.checks_for_assets(implementation),
            partitions_def=names.slices, tags={"vso/stage": "test"},
            description="Run one slice's unit tests in its worktree (`vso test`).",
        ),
    }
