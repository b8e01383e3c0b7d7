"""The `vso` command: thin, over the core and over Dagster. A user's mistake prints
`file:line: message` and exits 2; nothing here prints a traceback for one."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from ..core.base.errors import VSOError
from ..core.base.model import DEPLOY_TARGETS, ENVIRONMENTS
from ..core.base.project import Project
from ..core.base.state import load_state, public_view
from ..core.decomposition.decompose import check_project_spec, current_plan
from ..core.decomposition.scaffold_project import init_project
from ..core.sync.master_sync import section_is_current
from ..core.sync.resolve import TAKES
from ..launch.results import Result
from .tables import out, outcome_table, slice_table

if TYPE_CHECKING:
    import dagster as dg

USER_ERROR = 2
# `dagster dev` waits up to a minute on its webserver and daemon; `vso ui` gives it this long, then
# stops what is left of the process tree.
UI_STOP_GRACE_S = 5.0
# `vso decompose` lists the slices it wrote; past this many, it counts the rest (rendering 1,000 rows took ~1 s).
TABLE_ROWS = 50


def slice_selection(verb: str, all_help: str) -> Callable[[Callable], Callable]:
    """`--slice-id SLICE` (repeatable) or `--all`, exactly one of them: the same on every command
    that works on several slices."""
    def check(ctx: click.Context, _param: click.Parameter, all_slices: bool) -> bool:
        if bool(ctx.params.get("slice_ids")) == all_slices:
            raise click.UsageError("give --slice-id SLICE (one or more) or --all")
        return all_slices

    def decorate(command: Callable) -> Callable:
        command = click.option("--all", "all_slices", is_flag=True, callback=check, help=f"{all_help.capitalize()}.")(
            command)
        return click.option("--slice-id", "slice_ids", metavar="SLICE", multiple=True, is_eager=True,
                            help=f"A slice to {verb} (repeatable).")(command)

    return decorate


def one_slice(verb: str) -> Callable[[Callable], Callable]:
    """One slice, as `--slice-id SLICE` (the option every command that takes slices has) or, for
    short, as the command's argument."""
    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def given_once(*args, slice_arg: str | None, slice_id: str | None, **kwargs):
            given = {s for s in (slice_arg, slice_id) if s is not None}
            if len(given) != 1:
                raise click.UsageError("give one slice: --slice-id SLICE (or SLICE)")
            return command(*args, slice_id=given.pop(), **kwargs)

        given_once = click.argument("slice_arg", metavar="[SLICE]", required=False)(given_once)
        return click.option("--slice-id", metavar="SLICE", default=None, help=f"The slice to {verb}.")(given_once)

    return decorate


@contextmanager
def project_instance(project: Project) -> Iterator[dg.DagsterInstance]:
    """The project's Dagster instance. Dagster is imported here, by the commands that run work:
    its import is most of the time of a command that has nothing to do."""
    import dagster as dg

    from ..lib.instance import use_project_instance

    use_project_instance(project)
    with dg.DagsterInstance.get() as instance:
        yield instance


class ProjectCommand(click.Command):
    """A command that works on a project: refused, before anything is written, where there is none."""

    def invoke(self, ctx: click.Context):
        project = ctx.find_object(Project)
        project.require()
        load_state(project)  # a broken state.json is refused here, before a Dagster run would fail on it
        return super().invoke(ctx)


class VSOGroup(click.Group):
    command_class = ProjectCommand
    group_class = type  # subgroups (`vso hooks`) are VSOGroups too

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VSOError as error:
            click.echo(str(error), err=True)
            ctx.exit(USER_ERROR)


@click.group(cls=VSOGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--project-root", type=click.Path(file_okay=False, path_type=Path), envvar="VSO_PROJECT_ROOT",
              default=None, help="The managed project (env: VSO_PROJECT_ROOT). Default: the directory holding "
                                 "master-spec.md or .slice-orchestrator/, looking upward from here as git does "
                                 "(`vso init`: here).")
@click.version_option(package_name="vso-dagster")
@click.pass_context
def cli(ctx: click.Context, project_root: Path | None) -> None:
    """VSO: a master spec, decomposed into vertical slices, built and deployed through Dagster."""
    if project_root is not None or ctx.invoked_subcommand == "init":
        ctx.obj = Project.at(project_root or ".")
    else:
        ctx.obj = Project.find(".") or Project.at(".")


@cli.command(cls=click.Command)  # makes the project
@click.option("--title", default=None, help="System name for the master-spec.md skeleton.")
@click.pass_obj
def init(project: Project, title: str | None) -> None:
    """Create the project layout: master-spec.md skeleton, vertical-slices/, deployments/, .gitignore, git repo."""
    created = init_project(project, title or project.root.name.replace("-", " ").title())
    for path in created:
        out.print(f"  created {path}")
    if not created:
        out.print("Nothing to do: the project layout is complete.")
    out.print(f"Next: edit {project.relative(project.master_spec)}, then `vso validate` and `vso decompose`.")


@cli.command(cls=click.Command)  # only reads: `--spec FILE` lints a file anywhere
@click.option("--strict", is_flag=True, help="Treat endpoints, models and requirements no component owns as errors.")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Lint this file instead of the project's master-spec.md.")
@click.option("--no-conflicts", is_flag=True,
              help="Also fail while a master/slice conflict is unresolved (what the pre-push hook runs).")
@click.pass_obj
def validate(project: Project, strict: bool, spec_path: Path | None, no_conflicts: bool) -> None:
    """Lint master-spec.md: every problem as file:line; exit 2 if there is one. Writes nothing."""
    plan = check_project_spec(project, strict=strict, spec_path=spec_path)
    conflicts = load_state(project)["conflicts"] if no_conflicts else []
    for conflict in conflicts:
        click.echo(f"{conflict['path']}: unresolved conflict ({conflict.get('reason', 'edited downstream')}); "
                   f"settle it with `vso resolve {conflict['slice_id']} --take master|slice|merged`", err=True)
    if conflicts:
        raise SystemExit(1)
    for item in plan.unassigned:
        click.echo(f"{plan.master['path']}:{item.line}: warning: {item.kind} {item.label!r} is not assigned "
                   f"to any component ({item.reason})", err=True)
    out.print(f"{plan.master['path']}: ok: {len(plan.slices)} slices, {len(plan.unassigned)} unassigned items")


@cli.command()
@click.option("--strict", is_flag=True, help="Refuse endpoints, models and requirements no component owns.")
@click.option("--verbose", "-v", is_flag=True, help="Show Dagster's run logs.")
@click.pass_obj
def decompose(project: Project, strict: bool, verbose: bool) -> None:
    """Master spec -> vertical-slices/, materialized through Dagster (runs show in `vso ui`)."""
    # Nothing to do is known without Dagster, whose import is most of an unchanged run's time.
    try:
        plan = None if strict else current_plan(project)
        if plan is not None and not section_is_current(project):
            plan = None  # a decompose killed before it wrote the master's generated section
    except VSOError:
        plan = None  # a spec mistake: the Dagster path reports it and logs it
    stale: list[str] = []
    runs: list[str] = []
    if plan is None:
        from ..launch.decompose import decompose as run_decompose

        with project_instance(project) as instance, out.status("Decomposing the master spec through Dagster…"):
            report = run_decompose(project, instance, strict=strict, verbose=verbose)
        plan, stale, runs = report.plan, report.stale, report.runs
        if report.commit is not None:
            out.print(report.commit.summary(), soft_wrap=True)
    for item in plan.unassigned:
        click.echo(f"{plan.master['path']}:{item.line}: warning: {item.kind} {item.label!r} is not "
                   f"assigned to any component ({item.reason})", err=True)
    if stale:
        slice_table(load_state(project), only=stale[:TABLE_ROWS])
    if len(stale) > TABLE_ROWS:
        out.print(f"… and {len(stale) - TABLE_ROWS} more written or refreshed: `vso status` lists them all.")
    _print_conflicts(project, stale)
    if not runs:
        out.print("Nothing changed since the last decomposition: no run started.")
    out.print(f"{len(plan.slices)} slices, {len(stale)} written or refreshed, "
              f"{len(plan.retired)} retired; Dagster runs: {len(runs)}. "
              f"Logs: {project.relative(project.logs_dir / 'decomposition.log')}. Browse: vso ui")


@cli.command()
@slice_selection("implement", "every slice of the plan, dependencies first")
@click.option("--force", is_flag=True, help="With --all: also rebuild slices that are already implemented.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Slices at once (default: [limits] concurrency in config.toml, else 2).")
@click.option("--verbose", "-v", is_flag=True, help="Show Dagster's run logs.")
@click.pass_obj
def orchestrate(project: Project, slice_ids: tuple[str, ...], all_slices: bool, force: bool,
                concurrency: int | None, verbose: bool) -> None:
    """Implement slices on their own branches and worktrees (built-in scaffold agent), each gated by its unit tests.

    The project must be a git repository whose HEAD holds the slices (commit after `vso decompose`).
    """
    from ..core.base.config import load_config
    from ..launch.implement import orchestrate as run_orchestrate

    width = concurrency or load_config(project).limits.concurrency
    with project_instance(project) as instance, out.status(f"Implementing slices through Dagster ({width} at once)…"):
        outcomes = run_orchestrate(project, instance, None if all_slices else list(slice_ids), force=force,
                                   verbose=verbose, concurrency=width)
    outcome_table(outcomes)
    if any(o.result in (Result.FAILED, Result.BLOCKED) for o in outcomes):
        sys.exit(1)


@cli.command()
@one_slice("watch")
@click.pass_obj
def attach(project: Project, slice_id: str) -> None:
    """Watch a slice's agent team live (tmux attach; detach with Ctrl-b d)."""
    from ..core.base.config import load_config
    from ..core.implementation.team_run import attach_argv

    _known_slices(project, [slice_id])
    config = load_config(project)
    if config.agent is None:
        raise VSOError("the scaffold agent works without a team in tmux: nothing to attach to "
                       "(set [agent] in .slice-orchestrator/config.toml)")
    argv = attach_argv(config, slice_id)
    os.execvp(argv[0], argv)


@cli.command()
@one_slice("stop the team of")
@click.pass_obj
def stop(project: Project, slice_id: str) -> None:
    """Stop a slice's agent team cleanly (its worktree, branch and logs stay)."""
    from ..core.base.config import load_config
    from ..core.implementation.team_run import stop_team

    _known_slices(project, [slice_id])
    if stop_team(load_config(project), slice_id):
        out.print(f"Stopped the team of {slice_id}.")
    else:
        out.print(f"No team is running for {slice_id}.")


@cli.command(name="test")
@one_slice("test")
@click.option("--environment", type=click.Choice(["test"]), default=None,
              help="Run the integration and performance tests against this deployment instead of the unit tests.")
@click.option("--verbose", "-v", is_flag=True, help="Show Dagster's run logs.")
@click.pass_obj
def test_command(project: Project, slice_id: str, environment: str | None, verbose: bool) -> None:
    """A slice's unit tests in its worktree (its unit_tests check), or with --environment test its
    integration tests against the test deployment (the integration_tests asset)."""
    from ..launch.deploy import run_deployment_job
    from ..launch.implement import run_unit_tests

    with project_instance(project) as instance:
        if environment:
            outcome = run_deployment_job(project, instance, "integration", slice_id, verbose=verbose)
        else:
            outcome = run_unit_tests(project, instance, slice_id, verbose=verbose)
    outcome_table([outcome])
    if outcome.result != Result.PASSED:
        sys.exit(1)


@cli.command()
@slice_selection("deploy", "every slice of the plan")
@click.option("--environment", type=click.Choice([*ENVIRONMENTS, "both"]), default="both",
              show_default=True,
              help="test; production (only after integration tests passed); both: test, integration tests, production.")
@click.option("--platform", type=click.Choice(DEPLOY_TARGETS), default=None,
              help="Where the slice runs: local (loopback), hetzner (Terraform; needs HCLOUD_TOKEN), modal "
                   "(needs Modal credentials), or planned: each slice on the platform its plan names. Default: "
                   "[deploy] platform in .slice-orchestrator/config.toml, else local.")
@click.option("--verbose", "-v", is_flag=True, help="Show Dagster's run logs.")
@click.pass_obj
def deploy(project: Project, slice_ids: tuple[str, ...], all_slices: bool, environment: str,
           platform: str | None, verbose: bool) -> None:
    """Deploy slices: to test, to production (gated by integration tests), or the whole path."""
    from ..core.base.config import load_config
    from ..core.base.plan import load_plan
    from ..launch.deploy import run_deployment_job

    wanted = load_plan(project).slice_ids if all_slices else list(slice_ids)
    what = "deliver" if environment == "both" else environment
    platform = platform or load_config(project).platform
    with project_instance(project) as instance, out.status(f"Deploying ({platform})…"):
        outcomes = [run_deployment_job(project, instance, what, sid, platform=platform, verbose=verbose)
                    for sid in wanted]
    outcome_table(outcomes)
    if any(o.result == Result.FAILED for o in outcomes):
        sys.exit(1)


@cli.command()
@slice_selection("take down", "every deployed slice")
@click.option("--environment", type=click.Choice([*ENVIRONMENTS, "both"]), required=True)
@click.pass_obj
def destroy(project: Project, slice_ids: tuple[str, ...], all_slices: bool, environment: str) -> None:
    """Take slices' deployments down, on whatever platform each runs; state.json forgets them."""
    from ..core.base.logs import log_to_file
    from ..core.deployment.deploy import destroy as destroy_slice

    _known_slices(project, slice_ids)
    with log_to_file(project, "deployment"):
        for env in ENVIRONMENTS if environment == "both" else (environment,):
            # --all: every slice, recorded or not (a deploy killed before it recorded may have left one).
            for slice_id in _all_slices(project, env) if all_slices else slice_ids:
                if destroy_slice(project, slice_id, env):
                    out.print(f"{slice_id} no longer serves {env}.")
                elif not all_slices:
                    out.print(f"{slice_id} was not deployed to {env}.")


def _print_conflicts(project: Project, slice_ids: list[str]) -> None:
    """The conflicts of the slices just written: said where the write happens, not only in `vso status`."""
    from ..core.base.state import conflicts_of

    for conflict in conflicts_of(load_state(project), set(slice_ids)):
        beside = f"; the master's version is in {conflict['proposal']}" if conflict.get("proposal") else ""
        out.print(f"conflict: {conflict['path']}: {conflict['reason']}: your edit is kept{beside}. Settle it with "
                  f"`vso resolve {conflict['slice_id']} --take master|slice|merged`.", soft_wrap=True)


def _all_slices(project: Project, environment: str) -> list[str]:
    from ..core.deployment.deployments import deployments

    return sorted(set(deployments(project, environment)) | set(load_state(project)["slices"]))


@cli.command()
@one_slice("settle")
@click.option("--take", type=click.Choice(TAKES), required=True,
              help="master: the regenerated file replaces your edit; slice: your edit stays; merged: the "
                   "proposal beside the file (FILE.proposed, its conflict markers edited away) replaces it.")
@click.option("--verbose", "-v", is_flag=True, help="Show Dagster's run logs.")
@click.pass_obj
def resolve(project: Project, slice_id: str, take: str, verbose: bool) -> None:
    """Settle a slice's conflicts between a master change and an edit in the slice (`vso status` lists them)."""
    from ..core.base.logs import log_to_file
    from ..core.sync.resolve import resolve as resolve_conflicts
    from ..launch.decompose import check_in_sync

    with log_to_file(project, "decomposition"):
        settled = resolve_conflicts(project, slice_id, take)
    for path in settled:
        out.print(f"{path}: resolved, took {take}")
    with project_instance(project) as instance:
        check, run_id = check_in_sync(instance, slice_id, verbose=verbose)
    out.print(f"spec_in_sync for {slice_id}: {'passed' if check.passed else 'failed'} (Dagster run {run_id[:8]})")


@cli.command()
@click.option("--dry-run", is_flag=True, help="List what is stale and why; run nothing.")
@click.option("--verbose", "-v", is_flag=True, help="Show Dagster's run logs.")
@click.pass_obj
def nightly(project: Project, dry_run: bool, verbose: bool) -> None:
    """What the 02:00 schedule does, now: re-run everything stale, each slice from its first stale stage.

    Stale: the master spec or VSO's slice templates changed what a slice generates, a stage was never
    materialized, or the stage it is built from is newer (docs/keeping-in-sync.md)."""
    from ..launch.sync import nightly as run_nightly

    with project_instance(project) as instance, out.status("Nightly: re-running what is stale…"):
        work, outcomes = run_nightly(project, instance, dry_run=dry_run, verbose=verbose)
    if dry_run:
        table = Table("slice", "from stage", "why")
        for item in work:
            table.add_row(item.slice_id, item.assets[0], item.reason)
        out.print(table if work else "Nothing is stale.")
        return
    if outcomes:
        outcome_table(outcomes)
    out.print(f"{len(work)} slices were stale; nightly_last_run recorded in state.json.")
    if any(o.result == Result.FAILED for o in outcomes):
        sys.exit(1)


@cli.command()
@click.option("--background", is_flag=True, help="Return at once; the work goes on in a detached process "
                                                  "(what the post-commit hook uses; log: logs/sync.log).")
@click.option("--verbose", "-v", is_flag=True, help="Show Dagster's run logs.")
@click.pass_obj
def sync(project: Project, background: bool, verbose: bool) -> None:
    """Process the commits on the watched branch since the last sync: what the git sensor does, now."""
    from ..launch.sync import sync_commits

    if background:
        from ..core.base.gitrun import clean_env

        with project.open_append(project.logs_dir / "sync.log") as log:
            # A hook's git variables (GIT_DIR, GIT_INDEX_FILE) must not reach the sync or the agents it starts.
            subprocess.Popen([sys.executable, "-m", "vso_dagster.cli", "--project-root", str(project.root), "sync"],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                             env=clean_env())
        return
    with project_instance(project) as instance:
        report = sync_commits(project, instance, verbose=verbose)
    changes = report.changes
    if changes.since is None:
        out.print(f"Baseline set at {changes.head[:12]}: commits after it will be processed.")
    elif changes.since == changes.head:
        out.print("No new commit since the last sync.")
    else:
        master = "changed" if changes.master_changed else "unchanged"
        since = "since the slices were generated" if report.first else f"since {changes.since[:12]}"
        out.print(f"Commits {since}, up to {changes.head[:12]}: master spec {master}; slices edited: "
                  f"{', '.join(changes.edited_slices) or 'none'}; slices re-run: {len(report.outcomes)}")
    if report.outcomes:
        outcome_table(report.outcomes)
    if not report.advanced:
        click.echo(f"{len(report.failed)} slice(s) failed; the sync cursor stays at "
                   f"{(changes.since or '')[:12]}, so the next `vso sync` (or `vso nightly`) retries them. "
                   f"Logs: {project.relative(project.logs_dir)}/", err=True)
        sys.exit(1)


@cli.group()
def hooks() -> None:
    """Git hooks: post-commit (real-time change detection) and pre-push (validation)."""


@hooks.command(name="install")
@click.pass_obj
def hooks_install(project: Project) -> None:
    """Write .git/hooks/post-commit and pre-push (a hook you wrote yourself is left alone)."""
    from ..core.sync.hooks import install_hooks

    vso = Path(sys.executable).parent / "vso"
    for path in install_hooks(project, str(vso) if vso.exists() else "vso"):
        out.print(f"  installed {path}")


@hooks.command(name="uninstall")
@click.pass_obj
def hooks_uninstall(project: Project) -> None:
    """Remove the hooks VSO wrote."""
    from ..core.sync.hooks import uninstall_hooks

    removed = uninstall_hooks(project)
    for path in removed:
        out.print(f"  removed {path}")
    if not removed:
        out.print("No VSO hook to remove.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print state.json's shape instead of a table.")
@click.pass_obj
def status(project: Project, as_json: bool) -> None:
    """Slices with their versions, statuses, platforms and dependencies."""
    state = load_state(project)
    if as_json:
        click.echo(json.dumps(public_view(state), indent=2, sort_keys=True))
        return
    if not state["slices"]:
        out.print("No slices yet: run `vso decompose`.")
        return
    slice_table(state)
    for conflict in state["conflicts"]:
        beside = f"; proposal: {conflict['proposal']}" if conflict.get("proposal") else ""
        out.print(f"[yellow]conflict[/yellow] {conflict['path']}: {conflict.get('reason', 'edited downstream')}"
                  f"{beside}. Settle it: vso resolve {conflict['slice_id']} --take master|slice|merged",
                  soft_wrap=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
@click.pass_obj
def ui(project: Project, host: str, port: int) -> None:
    """The Dagster web UI (and daemon) on this project's instance; Ctrl-C or SIGTERM stops all of it."""
    from ..core.base.gitrun import clean_env
    from ..core.base.process_group import run_in_foreground
    from ..lib.instance import use_project_instance

    home = use_project_instance(project)
    out.print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={home}); Ctrl-C stops it.")
    argv = [sys.executable, "-m", "dagster", "dev", "-m", "vso_dagster.definitions", "-h", host, "-p", str(port)]
    sys.exit(run_in_foreground(argv, UI_STOP_GRACE_S, cwd=project.root, env=clean_env()))


def _known_slices(project: Project, slice_ids) -> None:
    known = load_state(project)["slices"]
    if unknown := [sid for sid in slice_ids if sid not in known]:
        raise VSOError(f"{', '.join(unknown)}: no such slice in {project.root}; `vso status` lists them")


def main() -> None:
    cli(prog_name="vso")
