import dagster as dg

from ..lib.partitions import slices_partitions

# `vso decompose` runs these two in process: the plan first, then only the slices whose inputs changed.
plan_job = dg.define_asset_job(
    "vso_plan", selection=["master_spec", "slice_plan"], tags={"vso/stage": "decomposition"},
    description="Parse the master spec and plan its slices (stable IDs, new partitions).",
)
# Without spec_in_sync: in a run of many partitions slice_spec records that check per slice itself.
slice_spec_job = dg.define_asset_job(
    "vso_slice_specs", selection=dg.AssetSelection.assets("slice_spec").without_checks(),
    partitions_def=slices_partitions,
    tags={"vso/stage": "decomposition"},
    description="Write vertical-slices/<id>/ for the selected slice partitions, in one run.",
)
spec_sync_job = dg.define_asset_job(
    "vso_spec_sync", selection=dg.AssetSelection.checks_for_assets("slice_spec"), partitions_def=slices_partitions,
    tags={"vso/stage": "decomposition"}, description="Re-evaluate one slice's spec_in_sync check (`vso resolve`).",
)
