"""Pieces the Dagster concern folders share: the slice partitions, the project resource, logging."""

import warnings

# Single-run backfills and data versions (beta) and partitioned asset checks (preview): VSO relies on
# them. Here, because every room imports lib before it defines an asset, whichever room is first.
warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")
