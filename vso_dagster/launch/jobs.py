"""The jobs of definitions.py, bound to their assets: what a run executes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from ..definitions import defs

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


def resolved(job: UnresolvedAssetJobDefinition) -> dg.JobDefinition:
    return defs.resolve_job_def(job.name)
