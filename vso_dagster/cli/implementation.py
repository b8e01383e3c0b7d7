"""`vso orchestrate`, `attach`, `stop` and `test`: slices built by their agent teams, and their tests."""

from __future__ import annotations

import os
import sys

import click

from ..core.base.errors import VSOError
from ..core.base.project import Project
from ..launch.results import Result
from .progress import LiveProgress
from .project import (
    json_option,
    one_slice,
    project_command,
    project_instance,
    slice_selection,
    verbose_option,
)
from .tables import box_table, emit_json, out, report


@project_command()
@slice_selection("implement", "every slice of the plan, dependencies first")
@click.option("--force", is_flag=True, help="With --all: also rebuild slices that are already implemented.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Slices at once (default: [limits] concurrency in config.toml, else 2).")
@verbose_option
@json_option
@click.pass_obj
def orchestrate(project: Project, slice_ids: tuple[str, ...], all_slices: bool, force: bool,
                concurrency: int | None, verbose: bool, as_json: bool) -> None:
    """Implement slices on their own branches and worktrees (built-in scaffold agent), each gated by its unit tests.

    The project must be a git repository whose HEAD holds the slices (commit after `vso decompose`).
    """
    from ..core.base.config import load_config
    from ..launch.implement import orchestrate as run_orchestrate

    width = concurrency or load_config(project).limits.concurrency
    with project_instance(project) as instance, LiveProgress("starting") as progress:
        outcomes = run_orchestrate(project, instance, None if all_slices else list(slice_ids), force=force,
                                   verbose=verbose, concurrency=width, progress=progress)
    report(outcomes, as_json)
    if any(o.result in (Result.FAILED, Result.BLOCKED) for o in outcomes):
        sys.exit(1)


@project_command()
@one_slice("watch")
@click.pass_obj
def attach(project: Project, slice_id: str) -> None:
    """Watch a slice's agent team live (tmux attach; detach with Ctrl-b d)."""
    from ..core.base.config import load_config
    from ..core.implementation.team_run import attach_argv

    config = load_config(project)
    if config.agent is None:
        raise VSOError("the scaffold agent works without a team in tmux: nothing to attach to "
                       "(set [agent] in .slice-orchestrator/config.toml)")
    argv = attach_argv(config, slice_id)
    os.execvp(argv[0], argv)


@project_command()
@one_slice("stop the team of")
@click.pass_obj
def stop(project: Project, slice_id: str) -> None:
    """Stop a slice's agent team cleanly (its worktree, branch and logs stay)."""
    from ..core.base.config import load_config
    from ..core.implementation.team_run import stop_team

    if stop_team(load_config(project), slice_id):
        out.print(f"Stopped the team of {slice_id}.")
    else:
        out.print(f"No team is running for {slice_id}.")


@project_command(name="test")
@one_slice("test")
@click.option("--environment", type=click.Choice(["test"]), default=None,
              help="Run the integration and performance tests against this deployment instead of the unit tests.")
@verbose_option
@json_option
@click.pass_obj
def test_command(project: Project, slice_id: str, environment: str | None, verbose: bool, as_json: bool) -> None:
    """A slice's unit tests in its worktree (its unit_tests check), or with --environment test its
    integration tests against the test deployment (the integration_tests asset)."""
    from ..launch.deploy import run_deployment_job
    from ..launch.implement import run_unit_tests

    with project_instance(project) as instance:
        if environment:
            outcome = run_deployment_job(project, instance, "integration", slice_id, verbose=verbose)
        else:
            outcome = run_unit_tests(project, instance, slice_id, verbose=verbose)
    report([outcome], as_json)
    if outcome.result != Result.PASSED:
        sys.exit(1)




@project_command(name="next")
@json_option
@click.pass_obj
def next_slices(project: Project, as_json: bool) -> None:
    """The slices ready to build now (not built, every dependency built), the most waited-on first:
    what `vso orchestrate --all` and the implementation_waves sensor start next."""
    from ..core.base.plan import load_plan
    from ..core.base.state import load_state
    from ..core.implementation.implement import most_waited_on_first, priorities, ready_to_build

    plan, state = load_plan(project), load_state(project)
    rank = priorities(plan)
    ready = most_waited_on_first(plan, ready_to_build(plan, state, set()), rank)
    rows = [{"slice_id": sid, "component": plan.slice(sid).name, "waited_on_by": rank[sid],
             "depends_on": plan.slice(sid).dependencies} for sid in ready]
    if as_json:
        emit_json(rows)
    elif not rows:
        out.print("No slice is ready to build: each is built, or waits on a dependency that is not.")
    else:
        out.out(box_table(("slice", "component", "slices waiting on it", "depends on (built)"),
                          [[r["slice_id"], r["component"], str(r["waited_on_by"]), ", ".join(r["depends_on"]) or "-"]
                           for r in rows], out.width), highlight=False)
        out.print(f"Build them: vso orchestrate --slice-id {ready[0]} (or --all)")
