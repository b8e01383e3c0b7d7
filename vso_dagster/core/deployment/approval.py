"""Giving the word production waits for ([deploy] require_approval; core/base/approvals.py says
what it is and when it holds)."""

from __future__ import annotations

import getpass
import os

from ..base.approvals import APPROVED, REJECTED, approval_of
from ..base.config import load_config
from ..base.errors import VSOError
from ..base.project import Project
from ..base.state import load_state, now, updating_state
from .deployments import deployments

__all__ = ["APPROVED", "REJECTED", "give"]

def give(project: Project, slice_id: str, decision: str, by: str = "", reason: str = "") -> str:
    """Records `decision` (APPROVED or REJECTED) for the deployment that passed in test; returns who."""
    if not load_config(project).require_approval:
        raise VSOError(f"{slice_id}: production needs no approval here; set [deploy] require_approval = true in "
                       ".slice-orchestrator/config.toml to ask for one")
    if approval_of(load_state(project), slice_id, True) is None:
        raise VSOError(f"{slice_id}: nothing awaits approval: its integration tests have not passed against what "
                       f"serves test now (`vso deploy --slice-id {slice_id}` runs them)")
    who = by or os.environ.get("GIT_AUTHOR_NAME") or getpass.getuser()
    tested = deployments(project, "test")[slice_id]["id"]
    with updating_state(project) as state:
        state["slices"][slice_id]["approval"] = {"decision": decision, "deployment_id": tested, "by": who,
                                                 "reason": reason, "at": now()}
    return who
