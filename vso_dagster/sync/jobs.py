import dagster as dg

from ..lib.partitions import slices_partitions
from ..lib.staleness import STAGES

_DOWNSTREAM = STAGES[1:]  # what is built from a slice's spec

# Both run agent teams, so they carry the tag dagster.yaml's implementation limit applies to.
slice_sync_job = dg.define_asset_job(
    "vso_slice_sync", selection=dg.AssetSelection.assets("slice_spec", *_DOWNSTREAM),
    partitions_def=slices_partitions, tags={"vso/stage": "implementation"},
    description="A slice whose master input changed: regenerate (three-way merge), re-implement, re-test, "
                "re-deploy.",
)
slice_downstream_job = dg.define_asset_job(
    "vso_slice_downstream", selection=dg.AssetSelection.assets(*_DOWNSTREAM),
    partitions_def=slices_partitions, tags={"vso/stage": "implementation"},
    description="A slice edited in place (its spec, tests or code): re-implement, re-test, re-deploy.",
)
master_sync_job = dg.define_asset_job(
    "vso_master_sync", selection=["master_sync"], tags={"vso/stage": "decomposition"},
    description="Slices -> master: the generated Vertical Slices section and what slices added.",
)
