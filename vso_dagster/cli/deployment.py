"""`vso deploy` and `destroy`: slices to test and production, and down again."""

from __future__ import annotations

import sys

import click

from ..core.base.model import DEPLOY_TARGETS, ENVIRONMENTS
from ..core.base.project import Project
from ..core.base.state import load_state
from ..launch.results import Result
from .progress import LiveProgress
from .project import SLICE, json_option, one_slice, project_command, project_instance, slice_selection, verbose_option
from .tables import box_table, emit_json, out, report


@project_command()
@slice_selection("deploy", "every slice of the plan")
@click.option("--environment", type=click.Choice([*ENVIRONMENTS, "both"]), default="both",
              show_default=True,
              help="test; production (only after integration tests passed); both: test, integration tests, production.")
@click.option("--platform", type=click.Choice(DEPLOY_TARGETS), default=None,
              help="Where the slice runs: local (loopback), hetzner (Terraform; needs HCLOUD_TOKEN), modal "
                   "(needs Modal credentials), or planned: each slice on the platform its plan names. Default: "
                   "[deploy] platform in .slice-orchestrator/config.toml, else local.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Slices at once, dependencies first (default: [limits] concurrency in config.toml, else 2).")
@verbose_option
@json_option
@click.pass_obj
def deploy(project: Project, slice_ids: tuple[str, ...], all_slices: bool, environment: str,
           platform: str | None, concurrency: int | None, verbose: bool, as_json: bool) -> None:
    """Deploy slices: to test, to production (gated by integration tests), or the whole path."""
    from ..core.base.config import load_config
    from ..core.base.plan import load_plan
    from ..launch.deploy import deploy_slices

    config = load_config(project)
    wanted = load_plan(project).slice_ids if all_slices else list(slice_ids)
    platform = platform or config.platform
    with project_instance(project) as instance, LiveProgress("starting") as progress:
        outcomes = deploy_slices(project, instance, "deliver" if environment == "both" else environment, wanted,
                                 platform=platform, verbose=verbose,
                                 concurrency=concurrency or config.limits.concurrency, progress=progress)
    report(outcomes, as_json)
    if any(o.result in (Result.FAILED, Result.BLOCKED) for o in outcomes):
        sys.exit(1)


@project_command()
@slice_selection("take down", "every deployed slice")
@click.option("--environment", type=click.Choice([*ENVIRONMENTS, "both"]), required=True)
@json_option
@click.pass_obj
def destroy(project: Project, slice_ids: tuple[str, ...], all_slices: bool, environment: str, as_json: bool) -> None:
    """Take slices' deployments down, on whatever platform each runs; state.json forgets them."""
    from ..core.base.logs import log_to_file
    from ..core.deployment.deploy import destroy as destroy_slice

    taken_down = []
    with log_to_file(project, "deployment"):
        for env in ENVIRONMENTS if environment == "both" else (environment,):
            # --all: every slice, recorded or not (a deploy killed before it recorded may have left one).
            for slice_id in _all_slices(project, env) if all_slices else slice_ids:
                if destroy_slice(project, slice_id, env):
                    taken_down.append({"slice_id": slice_id, "environment": env})
                    out.print(f"{slice_id} no longer serves {env}.")
                elif not all_slices:
                    out.print(f"{slice_id} was not deployed to {env}.")
    if as_json:
        emit_json({"taken_down": taken_down})


@project_command()
@one_slice("approve for production")
@click.option("--by", default="", help="Who approves (default: $GIT_AUTHOR_NAME, else your user name).")
@verbose_option
@json_option
@click.pass_obj
def approve(project: Project, slice_id: str, by: str, verbose: bool, as_json: bool) -> None:
    """Let a slice whose integration tests passed go to production ([deploy] require_approval), and
    deploy it there now, on the platform it serves test on."""
    from ..core.deployment.approval import APPROVED, give
    from ..core.deployment.deployments import deployments
    from ..launch.deploy import deploy_slices

    who = give(project, slice_id, APPROVED, by)
    out.print(f"{slice_id}: approved by {who}.")
    with project_instance(project) as instance, LiveProgress("starting") as progress:
        outcomes = deploy_slices(project, instance, "production", [slice_id], concurrency=1, verbose=verbose,
                                 platform=deployments(project, "test")[slice_id]["platform"], progress=progress)
    report(outcomes, as_json)
    if any(o.result in (Result.FAILED, Result.BLOCKED, Result.SKIPPED) for o in outcomes):
        sys.exit(1)


@project_command()
@one_slice("keep out of production")
@click.option("--reason", required=True, help="Why, for whoever reads `vso status` and `vso show`.")
@click.option("--by", default="", help="Who rejects (default: $GIT_AUTHOR_NAME, else your user name).")
@click.pass_obj
def reject(project: Project, slice_id: str, reason: str, by: str) -> None:
    """Keep a slice whose integration tests passed out of production, saying why. It stays out until a
    new test deployment passes its integration tests and is approved."""
    from ..core.deployment.approval import REJECTED, give

    who = give(project, slice_id, REJECTED, by, reason)
    out.print(f"{slice_id}: rejected by {who}: {reason}. A new test deployment that passes can be approved.")


@project_command()
@click.option("--slice-id", "slice_ids", type=SLICE, metavar="SLICE", multiple=True,
              help="Only this slice (repeatable). Default: every deployed slice.")
@click.option("--environment", type=click.Choice([*ENVIRONMENTS, "both"]), default="both", show_default=True)
@json_option
@click.pass_obj
def health(project: Project, slice_ids: tuple[str, ...], environment: str, as_json: bool) -> None:
    """Probe GET /health of deployed slices now, as the deployment_health sensor does; each answer
    becomes the deployment's `health` check in the UI and shows in `vso status`. Exit 1 if any
    slice is unhealthy."""
    from ..launch.health import probe_now

    with project_instance(project) as instance:
        probes = probe_now(project, instance, ENVIRONMENTS if environment == "both" else (environment,),
                           set(slice_ids) or None)
    if as_json:
        emit_json([{"slice_id": p.endpoint.slice_id, "environment": p.endpoint.environment, "url": p.endpoint.url,
                    "healthy": p.healthy, "answer": p.detail, "millis": p.millis} for p in probes])
    elif not probes:
        out.print("No deployed slice serves HTTP there: nothing to probe.")
    else:
        out.out(box_table(("slice", "environment", "url", "health", "answer", "ms"), [
            [p.endpoint.slice_id, p.endpoint.environment, p.endpoint.url, "healthy" if p.healthy else "UNHEALTHY",
             p.detail, "-" if p.millis is None else f"{p.millis:g}"] for p in probes], out.width), highlight=False)
    if any(not p.healthy for p in probes):
        sys.exit(1)


def _all_slices(project: Project, environment: str) -> list[str]:
    from ..core.deployment.deployments import deployments

    return sorted(set(deployments(project, environment)) | set(load_state(project)["slices"]))


