"""One VSO project's Dagster definitions, put together from the stage rooms: for VSO's own checkout
(definitions.py) and for each project a Dagster deployment adds as a Component (component.py)."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from . import alerts, decomposition, deployment, implementation, sync
from .lib.naming import Naming
from .lib.presentation import running_source, with_code_references, with_project_owners
from .lib.resources import VSOProject


def assemble(names: Naming, vso: VSOProject, *, timezone: str, health_interval_s: int = 60,
             alerts_interval_s: int = 30, owners: Sequence[str] = (), group: str | None = None) -> dg.Definitions:
    """`timezone`: the nightly schedule's; `health_interval_s` and `alerts_interval_s`: the health and
    alerts sensors'; `owners` and `group`, when given, on every asset."""
    rooms = [decomposition.room(names), implementation.room(names), deployment.room(names, health_interval_s)]
    rooms.append(sync.room(names, timezone, plan_job=rooms[0].jobs[decomposition.PLAN_JOB]))
    rooms.append(alerts.room(names, alerts_interval_s))
    defs = dg.Definitions(
        assets=with_code_references([a for room in rooms for a in room.assets], running_source()),
        asset_checks=[c for room in rooms for c in room.asset_checks],
        jobs=[j for room in rooms for j in room.jobs.values()],
        sensors=[s for room in rooms for s in room.sensors],
        schedules=[s for room in rooms for s in room.schedules],
        # No IO manager: no asset passes a value to another; each reads the project (a run on another
        # machine needs no file of this one).
        resources={names.resource: vso},
    )
    return with_project_owners(defs, owners, group)
