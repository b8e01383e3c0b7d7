"""The jobs of definitions.py, bound to their assets: what a run executes. The `vso` command works on
its own checkout's code location, whose names are the plain ones (`naming`)."""

from __future__ import annotations

import dagster as dg

from ..definitions import defs, naming

__all__ = ["naming", "resolved"]


def resolved(job: str) -> dg.JobDefinition:
    """A job by its plain name (`vso_plan`, as the rooms' job constants say)."""
    return defs.resolve_job_def(naming.name(job))
