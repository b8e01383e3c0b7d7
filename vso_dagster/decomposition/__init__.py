"""Master spec -> slice plan -> slice specs: the first stretch of the asset graph."""

from .assets import master_spec, slice_inputs, slice_plan, slice_spec, spec_in_sync
from .jobs import plan_job, slice_spec_job, spec_sync_job

assets = [master_spec, slice_plan, slice_inputs, slice_spec]
asset_checks = [spec_in_sync]
jobs = [plan_job, slice_spec_job, spec_sync_job]
