"""The jobs of definitions.py, bound to their assets: what an in-process run executes."""

from __future__ import annotations

import dagster as dg

from ..definitions import defs


def resolved(job: dg.UnresolvedAssetJobDefinition) -> dg.JobDefinition:
    return defs.resolve_job_def(job.name)
