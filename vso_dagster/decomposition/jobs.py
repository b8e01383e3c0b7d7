import dagster as dg

from ..lib.jobs import asset_job
from ..lib.naming import Naming

PLAN_JOB, SLICE_SPEC_JOB, SPEC_SYNC_JOB = "vso_plan", "vso_slice_specs", "vso_spec_sync"


def build(names: Naming) -> dict:
    slice_spec = names.key("slice_spec")
    tags = {"vso/stage": "decomposition"}
    return {
        # `vso decompose` runs these two in process: the plan first, then only the slices whose inputs changed.
        PLAN_JOB: asset_job(
            names.name(PLAN_JOB), selection=[names.key("master_spec"), names.key("slice_plan")], tags=tags,
            description="Parse the master spec and plan its slices (stable IDs, new partitions).",
        ),
        # Without spec_in_sync: in a run of many partitions slice_spec records that check per slice itself.
        SLICE_SPEC_JOB: asset_job(
            names.name(SLICE_SPEC_JOB), selection=dg.AssetSelection.assets(slice_spec).without_checks(),
            partitions_def=names.slices, tags=tags,
            description="Write vertical-slices/<id>/ for the selected slice partitions, in one run.",
        ),
        SPEC_SYNC_JOB: asset_job(
            names.name(SPEC_SYNC_JOB), selection=dg.AssetSelection.checks_for_assets(slice_spec),
            partitions_def=names.slices, tags=tags,
            description="Re-evaluate one slice's spec_in_sync check (`vso resolve`).",
        ),
    }
