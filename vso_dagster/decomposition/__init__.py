"""Master spec -> slice plan -> slice specs: the first stretch of the asset graph."""

import warnings

# Single-run backfills and data versions (beta) and partitioned asset checks (preview): VSO relies on them.
warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")

from .assets import master_spec, slice_plan, slice_spec  # noqa: E402
from .jobs import plan_job, slice_spec_job  # noqa: E402

assets = [master_spec, slice_plan, slice_spec]
jobs = [plan_job, slice_spec_job]
