"""One entry point per action over the three platforms; destroy follows what state.json recorded."""

from __future__ import annotations

from collections.abc import Callable

from ..base.errors import VSOError
from ..base.model import PLANNED, PLATFORM_NAMES, WORKER
from ..base.plan import Plan, load_plan
from ..base.project import Project
from ..base.state import BUILT, load_state
from ..base.worktrees import existing_worktree, head, uncommitted
from .deployments import Deployment, deployments, log
from .hetzner import deploy_hetzner, destroy_hetzner
from .local import deploy_local, destroy_local, stop_strays
from .modal import deploy_modal, destroy_modal
from .storage import forget_memo
from .wiring import stale_dependents, wiring_for
from .worker import JOB, forget_run, run_job

_DEPLOYERS: dict[str, tuple[Callable[[Project, str, str, dict[str, str]], Deployment],
                            Callable[[Project, str, str], bool]]] = {
    "local": (deploy_local, destroy_local),
    "hetzner": (deploy_hetzner, destroy_hetzner),
    "modal": (deploy_modal, destroy_modal),
}
assert tuple(_DEPLOYERS) == PLATFORM_NAMES


def deploy(project: Project, slice_id: str, environment: str, platform: str) -> Deployment:
    """Deploys a built slice: its unit tests passed (the implementation's blocking check).
    `platform` "planned": the one the slice's plan names."""
    entry = load_state(project)["slices"].get(slice_id, {})
    plan = load_plan(project)
    worker = plan.slice(slice_id).kind == WORKER
    if platform == PLANNED:
        platform = "local" if worker else entry.get("platform", "local")
    if worker and platform != "local":
        raise VSOError(f"{slice_id} is a worker (a job, no HTTP): it deploys as a run on this machine, --platform "
                       f"local; VSO does not generate cloud schedules for jobs yet")
    if platform not in _DEPLOYERS:
        raise VSOError(f"unknown platform {platform!r}; use one of {', '.join(_DEPLOYERS)}, or {PLANNED}")
    status = entry.get("status")
    if status not in BUILT:
        raise VSOError(f"{slice_id}: not built yet (status {status or 'unknown'}): a slice deploys only once its "
                       f"unit tests passed; `vso orchestrate --slice-id {slice_id}` first")
    shipped = tested_head(project, slice_id, entry.get("tested_commit"))
    current = deployments(project, environment).get(slice_id)
    if current and current["platform"] != platform:
        raise VSOError(f"{slice_id} already serves {environment} on {current['platform']}; `vso destroy --slice-id "
                       f"{slice_id} --environment {environment}` first, then deploy it to {platform}")
    wiring = wiring_for(project, plan, slice_id, environment, platform)
    log.info(f"{slice_id}: deploying {shipped[:12] if shipped else 'the skeleton'} to {environment} ({platform})")
    deployment = (run_job if worker else _DEPLOYERS[platform][0])(project, slice_id, environment, wiring)
    _rewire(project, plan, slice_id, environment)
    return deployment


def _rewire(project: Project, plan: Plan, slice_id: str, environment: str) -> None:
    """The slices that call this one learn its new address (a local redeploy takes a new port): each
    is redeployed as it is, the same tested commit on the same platform. One whose branch moved on
    since is not: what it ships next must pass its own gates first, and the log says so."""
    for dependent in stale_dependents(project, plan, slice_id, environment):
        entry = deployments(project, environment)[dependent]
        old = f"{dependent} ({environment}) still calls {slice_id} at its old address"
        if entry.get("commit") != load_state(project)["slices"].get(dependent, {}).get("tested_commit"):
            log.warning(f"{old}: its branch moved on since it was deployed; deploy it again once it passed its "
                        f"tests")
            continue
        log.info(f"{dependent}: redeploying to {environment}, to call {slice_id} at its new address")
        try:
            deploy(project, dependent, environment, entry["platform"])
        except VSOError as error:
            log.warning(f"{old}: {error}")


def tested_head(project: Project, slice_id: str, tested: str | None) -> str | None:
    """The commit a deploy ships: the branch's head, and only if the unit tests passed on exactly it
    with nothing uncommitted (None for a slice with no branch: the project's own skeleton)."""
    worktree = existing_worktree(project, slice_id)
    if worktree is None:
        return None
    current, dirty = head(worktree), uncommitted(worktree)
    again = f"run `vso test --slice-id {slice_id}` (its unit tests on the new head), then deploy again"
    if dirty:
        raise VSOError(f"{slice_id}: {worktree.branch} has uncommitted changes in "
                       f"{project.relative(worktree.slice_dir)} ({len(dirty)} files); nothing untested is "
                       f"deployed: commit them, {again}")
    if current != tested:
        was = f"its unit tests passed on {tested[:12]}" if tested else "its unit tests never passed on it"
        raise VSOError(f"{slice_id}: {worktree.branch} is at {current[:12]}, but {was}: a newer head is not "
                       f"deployed untested; {again}")
    return current


def destroy(project: Project, slice_id: str, environment: str) -> bool:
    """Tears down whatever the slice runs on in that environment; False when nothing was deployed."""
    forget_memo(project, slice_id, environment)
    current = deployments(project, environment).get(slice_id)
    if current is not None and current.get("kind") == JOB:
        return forget_run(project, slice_id, environment)
    if current is not None:
        return _DEPLOYERS[current["platform"]][1](project, slice_id, environment)
    # Not recorded (a deploy killed before it recorded its service, or one that failed after terraform
    # apply): a local service may still run, and Terraform may still hold resources.
    strays = stop_strays(project, slice_id, environment)
    return destroy_hetzner(project, slice_id, environment) or bool(strays)
