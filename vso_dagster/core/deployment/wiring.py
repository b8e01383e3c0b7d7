"""Slices wired to each other: a slice calls each service it depends on at the URL that service serves
at in the same environment, given to it by its deploy as VSO_DEP_<SLICE>_URL (the planned slice's
`calls`). Test calls test, production calls production; never across."""

from __future__ import annotations

from ..base.errors import VSOError
from ..base.model import WORKER
from ..base.names import dependency_variable
from ..base.plan import Plan
from ..base.project import Project
from .deployments import deployments, log
from .worker import JOB


def wiring_for(project: Project, plan: Plan, slice_id: str, environment: str, platform: str) -> dict[str, str]:
    """VSO_DEP_<SLICE>_URL -> URL for each service the slice calls. For a service, each must serve
    `environment` already, where it can reach it: a deploy never starts a service that cannot call
    what it needs. A job runs once, now, and often only shares data with what it depends on: it gets
    the URLs of those that serve, and the log names the others."""
    served = deployments(project, environment)
    planned = plan.slice(slice_id)
    calls = planned.calls
    missing = [call["slice_id"] for call in calls if call["slice_id"] not in served]
    if missing and planned.kind == WORKER:
        log.warning(f"{slice_id} runs with no URL for {', '.join(missing)}, which does not serve {environment}")
        calls = [call for call in calls if call["slice_id"] in served]
    elif missing:
        raise VSOError(f"{slice_id} calls {', '.join(missing)}, which {'does' if len(missing) == 1 else 'do'} not "
                       f"serve {environment}: deploy {'it' if len(missing) == 1 else 'them'} to {environment} first "
                       f"(`vso deploy --all --environment {environment}` deploys each slice after what it calls)")
    wiring = {call["variable"]: served[call["slice_id"]]["url"] for call in calls}
    if platform != "local":
        if unreachable := [call["slice_id"] for call in calls if served[call["slice_id"]]["platform"] == "local"]:
            raise VSOError(f"{slice_id} would run on {platform}, but {', '.join(unreachable)} serves {environment} "
                           f"on this machine (platform local), which a {platform} server cannot reach: deploy "
                           f"{'it' if len(unreachable) == 1 else 'them'} to a cloud platform too, or this one locally")
    return wiring


def stale_dependents(project: Project, plan: Plan, slice_id: str, environment: str) -> list[str]:
    """The slices serving `environment` that still call this one at an address it no longer serves at
    (a local redeploy takes a new port). A job's run is over: it calls nothing any more."""
    served = deployments(project, environment)
    if (current := served.get(slice_id)) is None:
        return []
    variable = dependency_variable(slice_id)
    return [sid for sid in plan.dependents(slice_id) if sid in served and served[sid].get("kind") != JOB
            and served[sid].get("wiring", {}).get(variable, current["url"]) != current["url"]]
