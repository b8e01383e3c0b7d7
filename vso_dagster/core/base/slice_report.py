"""What `vso show` says of one slice, gathered from the plan and state.json: what it is (its part of
the master spec), where it stands, where it serves, and what building it cost."""

from __future__ import annotations

from .approvals import approval_of
from .model import ENVIRONMENTS, LatencyBudget
from .plan import Plan
from .state import conflicts_of, endpoints_in
from .worktrees import branch_name


def slice_report(plan: Plan, state: dict, slice_id: str, approvals: bool = False) -> dict:
    """`approvals`: whether production waits for a person's word ([deploy] require_approval)."""
    entry = state["slices"][slice_id]
    planned = plan.slice(slice_id) if slice_id in plan.slice_ids else None
    serving = {env: _serving(endpoints_in(state, env).get(slice_id))
               for env in ENVIRONMENTS}
    return {
        "slice_id": slice_id,
        "component": entry.get("component", ""),
        "description": planned.description if planned else "",
        "kind": planned.kind if planned else "",
        "platform": entry.get("platform", ""),
        "depends_on": entry.get("dependencies", []),
        # The services it calls, and the variable its deploy puts each one's URL in.
        "calls": [f"{c['name']} (${c['variable']})" for c in planned.calls] if planned else [],
        "endpoints": [f"{e['method']} {e['path']}" for e in planned.endpoints] if planned else [],
        "latency_budget": _budget(planned.latency) if planned and planned.latency else None,
        "version": entry.get("version", ""),
        "status": entry.get("status", ""),
        "branch": branch_name(slice_id, entry["version"]) if entry.get("version") else "",
        "tested_commit": entry.get("tested_commit"),
        "coverage": entry.get("coverage"),  # the line coverage its unit tests reached on that commit
        "integration": entry.get("integration"),
        "approval": approval_of(state, slice_id, approvals),
        "serving": {env: where for env, where in serving.items() if where},
        "agent_spend": entry.get("agent_spend"),
        "conflicts": [c["path"] for c in conflicts_of(state, {slice_id})],
    }


def _budget(latency: dict) -> str:
    return str(LatencyBudget(latency["percentile"], latency["millis"], latency.get("scope")))


def _serving(deployment: dict | None) -> dict | None:
    if not deployment:
        return None
    health = deployment.get("health", {})
    return {"url": deployment.get("url") or "", "platform": deployment.get("platform", ""),
            "commit": deployment.get("commit"), "deployed_at": deployment.get("deployed_at"),
            "healthy": health.get("healthy", True), "health": health.get("detail", "as deployed"),
            "database": deployment.get("VSO_DATABASE_URL")}
