"""Runs the `vso` process executes itself, tagged with that process.

Killed (kill -9, a closed terminal), such a run can never record its end: Dagster keeps it
STARTED for good. VSO leaves a slice with a run in flight to that run, so a dead one would hold
the slice forever. The tag names the process that runs it; a run whose process is gone is
abandoned (staleness.py marks it failed, and its work is done again).
"""

from __future__ import annotations

import dagster as dg

from ..core.base.process_group import is_running

PROCESS_TAG = "vso/process"


def abandoned(run: dg.DagsterRun) -> bool:
    """A run executed in a `vso` process that no longer runs."""
    identity = run.tags.get(PROCESS_TAG)
    return identity is not None and not is_running(identity)
