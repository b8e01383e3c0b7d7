"""The `vso` command: thin, over the core and over Dagster. A user's mistake prints
`file:line: message` and exits 2; nothing here prints a traceback for one. Each stage's commands
live in the module named after it; this one holds the group and the commands that run no stage."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import click

from ..core.base.config import load_config
from ..core.base.errors import VSOError
from ..core.base.instance_storage import PASSWORD_ENV, STORAGES, URL_SHAPE, PostgresStorage, parse_postgres_url
from ..core.base.model import ENVIRONMENTS, SPEC_PLATFORMS
from ..core.base.project import Project
from ..core.base.slice_selection import STATUSES, SliceFilter, summary
from ..core.base.state import load_state, public_view
from ..core.decomposition.decompose import check_project_spec
from ..core.decomposition.scaffold_project import init_project
from . import decomposition, deployment, implementation, sync
from .project import VSOGroup, json_option, one_slice, project_instance
from .tables import box_table, emit_json, out, page_or_print, slice_report_text, slice_table_text, warn_unassigned

# The runs `vso show` lists, newest first.
SHOWN_RUNS = 5
# `dagster dev` waits up to a minute on its webserver and daemon; `vso ui` gives it this long, then
# stops what is left of the process tree.
UI_STOP_GRACE_S = 5.0


@click.group(cls=VSOGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--project-root", type=click.Path(file_okay=False, path_type=Path), envvar="VSO_PROJECT_ROOT",
              default=None, help="The managed project (env: VSO_PROJECT_ROOT). Default: the directory holding "
                                 "master-spec.md or .slice-orchestrator/, looking upward from here as git does "
                                 "(`vso init`: here).")
@click.version_option(package_name="vso-dagster")
@click.pass_context
def cli(ctx: click.Context, project_root: Path | None) -> None:
    """VSO: a master spec, decomposed into vertical slices, built and deployed through Dagster."""
    out.quiet = False  # every command starts loud; its --json (parsed after this) makes it quiet
    if project_root is not None or ctx.invoked_subcommand == "init":
        ctx.obj = Project.at(project_root or ".")
    else:
        ctx.obj = Project.find(".") or Project.at(".")


for command in (decomposition.decompose, implementation.orchestrate, implementation.attach, implementation.stop,
                implementation.test_command, implementation.next_slices, deployment.deploy, deployment.approve,
                deployment.reject, deployment.destroy, deployment.health, sync.resolve, sync.nightly, sync.sync,
                sync.hooks):
    cli.add_command(command)


@cli.command(cls=click.Command)  # makes the project
@click.option("--title", default=None, help="System name for the master-spec.md skeleton.")
@click.option("--storage", type=click.Choice(STORAGES), default=None,
              help="Where the project's Dagster instance keeps runs and events: SQLite files in "
                   ".slice-orchestrator/dagster/ (the default), or a PostgreSQL database that other machines "
                   "can share (needs --postgres-url and the postgres extra).")
@click.option("--postgres-url", default=None, metavar="URL",
              help=f"The database for --storage postgres: {URL_SHAPE}. Its password is not written to "
                   f"dagster.yaml: export {PASSWORD_ENV} wherever vso or dagster runs.")
@click.pass_obj
def init(project: Project, title: str | None, storage: str | None, postgres_url: str | None) -> None:
    """Create the project layout: master-spec.md skeleton, vertical-slices/, deployments/, .gitignore, git repo."""
    from ..lib.instance import instance_config_path, set_instance_storage

    database = _storage_choice(storage, postgres_url)
    # First: a database that cannot be reached is refused before anything is written.
    stored = storage is not None and set_instance_storage(project, database)
    created = init_project(project, title or project.root.name.replace("-", " ").title())
    for path in created:
        out.print(f"  created {path}")
    if stored:
        out.print(f"  wrote {project.relative(instance_config_path(project))} (storage: {storage})")
    if not (created or stored):
        out.print("Nothing to do: the project layout is complete.")
    if database is not None:
        out.print(f"Dagster storage: PostgreSQL {database.where}.")
        if database.needs_password and not os.environ.get(PASSWORD_ENV):
            out.print(f"[yellow]note[/yellow] dagster.yaml reads the database's password from {PASSWORD_ENV}, which "
                      f"is not set here: export it wherever vso, dagster or its daemon runs.", soft_wrap=True)
    out.print(f"Next: edit {project.relative(project.master_spec)}, then `vso validate` and `vso decompose`.")


@cli.command(cls=click.Command)  # only reads: `--spec FILE` lints a file anywhere
@click.option("--strict", is_flag=True, help="Treat endpoints, models and requirements no component owns as errors.")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Lint this file instead of the project's master-spec.md.")
@click.option("--no-conflicts", is_flag=True,
              help="Also fail while a master/slice conflict is unresolved (what the pre-push hook runs).")
@json_option
@click.pass_obj
def validate(project: Project, strict: bool, spec_path: Path | None, no_conflicts: bool, as_json: bool) -> None:
    """Lint master-spec.md: every problem as file:line; exit 2 if there is one. Writes nothing."""
    plan = check_project_spec(project, strict=strict, spec_path=spec_path)
    conflicts = load_state(project)["conflicts"] if no_conflicts else []
    for conflict in conflicts:
        click.echo(f"{conflict['path']}: unresolved conflict ({conflict.get('reason', 'edited downstream')}); "
                   f"settle it with `vso resolve {conflict['slice_id']} --take master|slice|merged`", err=True)
    if conflicts:
        raise SystemExit(1)
    warn_unassigned(plan)
    out.print(f"{plan.master['path']}: ok: {len(plan.slices)} slices, {len(plan.unassigned)} unassigned items")
    if as_json:
        emit_json({"path": plan.master["path"], "ok": True, "slices": [s.slice_id for s in plan.slices],
                   "unassigned": plan.unassigned})


@cli.command()
@click.argument("pattern", required=False)
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only slices with this status (repeat for several).")
@click.option("--platform", "platforms", multiple=True, type=click.Choice(SPEC_PLATFORMS),
              help="Only slices meant to run on this platform (repeat for several).")
@click.option("--pager/--no-pager", default=True, show_default=True,
              help="Page a table longer than the terminal (through $PAGER, else less); never when piped.")
@json_option
@click.pass_obj
def status(project: Project, pattern: str | None, statuses: tuple[str, ...], platforms: tuple[str, ...],
           pager: bool, as_json: bool) -> None:
    """Slices with their versions, statuses, platforms and dependencies, in slice-number order, and a
    summary line. PATTERN picks slices by ID or component name: `auth` is found anywhere, a glob
    (`'slice-1??-*'`) must match whole. Where runs execute on other machines (`[dagster] checkout =
    "git"`), it first takes what they recorded in the Dagster instance."""
    config = load_config(project)
    if config.runs_in_clones:
        with project_instance(project):
            pass  # opening it takes what runs on other machines recorded
    state = load_state(project)
    chosen = SliceFilter(statuses, platforms, pattern)
    shown = chosen.select(state["slices"])
    if as_json:
        view = public_view(state)
        view["slices"] = {sid: view["slices"][sid] for sid in shown}
        click.echo(json.dumps(view, indent=2, sort_keys=True))
        return
    if not state["slices"]:
        out.print("No slices yet: run `vso decompose`.")
        return
    lines = [slice_table_text(state, shown, config.require_approval) if shown
             else "No slice matches; `vso status` alone lists them all."]
    for conflict in state["conflicts"]:
        if chosen.active and conflict["slice_id"] not in shown:
            continue
        beside = f"; proposal: {conflict['proposal']}" if conflict.get("proposal") else ""
        lines.append(f"{click.style('conflict', fg='yellow')} {conflict['path']}: "
                     f"{conflict.get('reason', 'edited downstream')}{beside}. "
                     f"Settle it: vso resolve {conflict['slice_id']} --take master|slice|merged")
    lines.append(summary(state["slices"], len(shown), len(state["conflicts"])))
    page_or_print("\n".join(lines), pager)


@cli.command()
@one_slice("show")
@json_option
@click.pass_obj
def show(project: Project, slice_id: str, as_json: bool) -> None:
    """One slice: what the master spec asks of it, its status and version, its branch, where it
    serves (and whether it answers), what its agents spent, and its last Dagster runs."""
    import dagster as dg

    from ..core.base.plan import load_plan
    from ..core.base.slice_report import slice_report

    report = slice_report(load_plan(project), load_state(project), slice_id, load_config(project).require_approval)
    with project_instance(project) as instance:
        records = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": slice_id}), limit=SHOWN_RUNS)
    report["runs"] = [{"job": r.dagster_run.job_name, "status": r.dagster_run.status.value,
                       "run_id": r.dagster_run.run_id, "created": r.create_timestamp.strftime("%Y-%m-%d %H:%M")}
                      for r in records]
    if as_json:
        emit_json(report)
    else:
        click.echo(slice_report_text(report))


@cli.command()
@one_slice("show the logs of")
@click.option("--role", default=None, help="Only this role of the team (developer, tester, ...).")
@click.option("--deploy", "deployed", is_flag=True,
              help="The slice's deployments instead of its team: each local process's output and VSO's "
                   "deployment log lines about it.")
@click.option("--environment", type=click.Choice([*ENVIRONMENTS, "both"]), default="both", show_default=True,
              help="With --deploy: which environment's processes.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing what the logs gain, until Ctrl-C.")
@click.pass_obj
def logs(project: Project, slice_id: str, role: str | None, deployed: bool, environment: str,
         follow: bool) -> None:
    """A slice's logs: its team's panes (live while it works, else as its last team left them), or
    with --deploy its deployments'. Several logs are printed one after another, each line marked
    with where it is from when following."""
    from ..core.base.log_sources import follow as follow_sources
    from ..core.base.log_sources import lines_of
    from ..core.deployment.deployments import deployment_logs
    from ..core.implementation.team_logs import team_logs

    if deployed:
        sources = deployment_logs(project, slice_id, ENVIRONMENTS if environment == "both" else (environment,))
    else:
        sources = team_logs(project, load_config(project), slice_id, role)
    if not sources:
        out.print(f"{slice_id} has no team logs yet: its team writes them (`vso orchestrate --slice-id {slice_id}`); "
                  f"`--deploy` shows its deployments'.")
        return
    for source in sources:
        lines = lines_of(source.read() or "")
        if len(sources) > 1:
            click.echo(click.style(f"== {source.name} ({len(lines)} lines) ==", bold=True))
        click.echo("\n".join(lines) if lines else f"(nothing in {source.name} yet)")
    if follow:
        marked = len(sources) > 1
        try:
            follow_sources(sources, lambda name, line: click.echo(f"[{name}] {line}" if marked else line))
        except KeyboardInterrupt:
            pass


@cli.command()
@click.option("--recent", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the runs that ended to list, newest first.")
@json_option
@click.pass_obj
def queue(project: Project, recent: int, as_json: bool) -> None:
    """The project's runs in Dagster's run queue: waiting (highest priority first), working, and the
    last that ended, with the slices each is for and what started it."""
    from ..launch.queue import runs_of_project

    with project_instance(project) as instance:
        rows = runs_of_project(instance, recent)
    if as_json:
        emit_json(rows)
    elif not rows:
        out.print("No run yet: `vso decompose` starts the first.")
    else:
        click.echo(box_table(("slices", "job", "status", "created", "took", "started by", "run"), [
            [r.slices, r.job, r.status, r.created, _took(r.seconds), r.started_by, r.run_id[:8]] for r in rows],
            out.width))


def _took(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
@click.pass_obj
def ui(project: Project, host: str, port: int) -> None:
    """The Dagster web UI (and daemon) on this project's instance; Ctrl-C or SIGTERM stops all of it."""
    from ..core.base.gitrun import clean_env
    from ..core.base.process_group import run_in_foreground
    from ..lib.instance import project_workspace, use_project_instance

    home, workspace = use_project_instance(project), project_workspace(project)
    out.print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={home}, workspace "
              f"{project.relative(workspace)}); Ctrl-C stops it.")
    argv = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", host, "-p", str(port)]
    sys.exit(run_in_foreground(argv, UI_STOP_GRACE_S, cwd=project.root, env=clean_env()))


@cli.command()
@click.pass_obj
def worker(project: Project) -> None:
    """A Dagster daemon on this project's instance that launches its queued runs in this checkout.

    Start one on each machine that should take runs: a clone of the project (`[dagster] checkout =
    "git"`) whose dagster.yaml names the instance's PostgreSQL database (`vso init --storage
    postgres --postgres-url URL` writes it). Ctrl-C or SIGTERM stops it."""
    from ..core.base.gitrun import clean_env
    from ..core.base.process_group import run_in_foreground
    from ..lib.instance import project_workspace, use_project_instance

    home, workspace = use_project_instance(project), project_workspace(project)
    if not load_config(project).runs_in_clones:
        out.print("[yellow]note[/yellow] [dagster] checkout is \"shared\": the runs this daemon launches work in "
                  f"{project.root} as it is, without taking anything from git.", soft_wrap=True)
    out.print(f"Dagster daemon for {project.root} (DAGSTER_HOME={home}, workspace {project.relative(workspace)}); "
              "Ctrl-C stops it.")
    argv = [sys.executable, "-m", "dagster._daemon", "run", "-w", str(workspace)]
    sys.exit(run_in_foreground(argv, UI_STOP_GRACE_S, cwd=project.root, env=clean_env()))


def _storage_choice(storage: str | None, postgres_url: str | None) -> PostgresStorage | None:
    if postgres_url is not None and storage != "postgres":
        raise VSOError("--postgres-url is for --storage postgres; add it, or leave the URL out")
    if storage == "postgres":
        if postgres_url is None:
            raise VSOError(f"--storage postgres needs --postgres-url {URL_SHAPE}")
        database = parse_postgres_url(postgres_url)
        # A password kept out of the URL, in the variable, is as much the database's as one in it.
        return replace(database, needs_password=database.needs_password or bool(os.environ.get(PASSWORD_ENV)))
    return None


def main() -> None:
    cli(prog_name="vso")
