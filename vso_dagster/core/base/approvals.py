"""A person's word before production ([deploy] require_approval). It is given for one test
deployment, the one whose integration tests passed, and holds for that deployment alone: a redeploy
to test needs a new word. A rejection says why, and stands until then.

Whether a slice awaits approval is not stored: it is a slice whose integration tests passed against
what serves test now, with no word yet on that deployment."""

from __future__ import annotations

from .state import endpoints_in

AWAITING, APPROVED, REJECTED = "awaiting approval", "approved", "rejected"


def approval_of(state: dict, slice_id: str, required: bool) -> str | None:
    """AWAITING, APPROVED or REJECTED (with who and why) for the deployment serving test; None when
    no approval is asked for, or the slice has not passed its integration tests there."""
    if not required:
        return None
    current = endpoints_in(state, "test").get(slice_id)
    entry = state["slices"].get(slice_id, {})
    result = entry.get("integration")
    if not current or not result or not result["passed"] or result.get("deployment_id") != current["id"]:
        return None
    word = entry.get("approval")
    if not word or word["deployment_id"] != current["id"]:
        return AWAITING
    if word["decision"] == APPROVED:
        return f"{APPROVED} by {word['by']}"
    return f"{REJECTED} by {word['by']}: {word['reason']}"
