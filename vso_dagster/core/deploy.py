"""One entry point per action over the three platforms; destroy follows what state.json recorded."""

from __future__ import annotations

from collections.abc import Callable

from .deploy_hetzner import deploy_hetzner, destroy_hetzner
from .deploy_local import deploy_local, destroy_local
from .deploy_modal import deploy_modal, destroy_modal
from .deployments import PLANNED, PLATFORM_NAMES, Deployment, deployments
from .errors import VSOError
from .implement import BUILT
from .project import Project
from .state import load_state

PLATFORMS: dict[str, tuple[Callable[[Project, str, str], Deployment], Callable[[Project, str, str], bool]]] = {
    "local": (deploy_local, destroy_local),
    "hetzner": (deploy_hetzner, destroy_hetzner),
    "modal": (deploy_modal, destroy_modal),
}
assert tuple(PLATFORMS) == PLATFORM_NAMES


def deploy(project: Project, slice_id: str, environment: str, platform: str) -> Deployment:
    """Deploys a built slice: its unit tests passed (the implementation's blocking check).
    `platform` "planned": the one the slice's plan names."""
    entry = load_state(project)["slices"].get(slice_id, {})
    if platform == PLANNED:
        platform = entry.get("platform", "local")
    if platform not in PLATFORMS:
        raise VSOError(f"unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}, or {PLANNED}")
    status = entry.get("status")
    if status not in BUILT:
        raise VSOError(f"{slice_id}: not built yet (status {status or 'unknown'}): a slice deploys only once its "
                       f"unit tests passed; `vso orchestrate --slice-id {slice_id}` first")
    current = deployments(project, environment).get(slice_id)
    if current and current["platform"] != platform:
        raise VSOError(f"{slice_id} already serves {environment} on {current['platform']}; `vso destroy --slice-id "
                       f"{slice_id} --environment {environment}` first, then deploy it to {platform}")
    return PLATFORMS[platform][0](project, slice_id, environment)


def destroy(project: Project, slice_id: str, environment: str) -> bool:
    """Tears down whatever the slice runs on in that environment; False when nothing was deployed."""
    current = deployments(project, environment).get(slice_id)
    if current is not None:
        return PLATFORMS[current["platform"]][1](project, slice_id, environment)
    # Not recorded (a deploy that failed after terraform apply, say): Terraform may still hold resources.
    return destroy_hetzner(project, slice_id, environment)
