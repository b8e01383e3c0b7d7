"""Master spec -> slice plan -> slice specs: the first stretch of the asset graph."""

import warnings

# Single-run backfills and data versions (beta) and partitioned asset checks (preview): VSO relies on them.
warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")

from .assets import master_spec, slice_plan, slice_spec, spec_in_sync  # noqa: E402
from .jobs import plan_job, slice_spec_job, spec_sync_job  # noqa: E402

assets = [master_spec, slice_plan, slice_spec]
asset_checks = [spec_in_sync]
jobs = [plan_job, slice_spec_job, spec_sync_job]
