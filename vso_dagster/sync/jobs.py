import dagster as dg

from ..lib.jobs import asset_job
from ..lib.naming import Naming
from ..lib.staleness import STAGES

SLICE_SYNC_JOB, SLICE_DOWNSTREAM_JOB, MASTER_SYNC_JOB = "vso_slice_sync", "vso_slice_downstream", "vso_master_sync"


def build(names: Naming) -> dict:
    downstream = [names.key(stage) for stage in STAGES[1:]]  # what is built from a slice's spec
    # Both slice jobs run agent teams, so they carry the tag dagster.yaml's implementation limit applies to.
    slices = {"partitions_def": names.slices, "tags": {"vso/stage": "implementation"}}
    return {
        SLICE_SYNC_JOB: asset_job(
            names.name(SLICE_SYNC_JOB), selection=dg.AssetSelection.assets(names.key("slice_spec"), *downstream),
            **slices, description="A slice whose master input changed: regenerate (three-way merge), re-implement, "
                                  "re-test, re-deploy.",
        ),
        SLICE_DOWNSTREAM_JOB: asset_job(
            names.name(SLICE_DOWNSTREAM_JOB), selection=dg.AssetSelection.assets(*downstream), **slices,
            description="A slice edited in place (its spec, tests or code): re-implement, re-test, re-deploy.",
        ),
        MASTER_SYNC_JOB: asset_job(
            names.name(MASTER_SYNC_JOB), selection=[names.key("master_sync")], tags={"vso/stage": "decomposition"},
            description="Slices -> master: the generated Vertical Slices section and what slices added.",
        ),
    }
