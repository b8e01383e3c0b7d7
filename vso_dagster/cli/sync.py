"""`vso sync`, `nightly`, `resolve` and `hooks`: master and slices kept in step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from rich.table import Table

from ..core.base.project import Project
from ..core.sync.resolve import TAKES
from ..launch.results import Result
from .progress import LiveProgress
from .project import VSOGroup, json_option, one_slice, project_command, project_instance, verbose_option
from .tables import emit_json, out, outcome_table


@project_command()
@one_slice("settle")
@click.option("--take", type=click.Choice(TAKES), required=True,
              help="master: the regenerated file replaces your edit; slice: your edit stays; merged: the "
                   "proposal beside the file (FILE.proposed, its conflict markers edited away) replaces it.")
@verbose_option
@json_option
@click.pass_obj
def resolve(project: Project, slice_id: str, take: str, verbose: bool, as_json: bool) -> None:
    """Settle a slice's conflicts between a master change and an edit in the slice (`vso status` lists them)."""
    from ..core.base.logs import log_to_file
    from ..core.sync.resolve import resolve as resolve_conflicts
    from ..launch.decompose import check_in_sync

    with log_to_file(project, "decomposition"):
        settled = resolve_conflicts(project, slice_id, take)
    for path in settled:
        out.print(f"{path}: resolved, took {take}")
    with project_instance(project) as instance:
        check, run_id = check_in_sync(project, instance, slice_id, verbose=verbose)
    out.print(f"spec_in_sync for {slice_id}: {'passed' if check.passed else 'failed'} (Dagster run {run_id[:8]})")
    if as_json:
        emit_json({"slice_id": slice_id, "took": take, "settled": settled, "spec_in_sync": check.passed,
                   "run_id": run_id})


@project_command()
@click.option("--dry-run", is_flag=True, help="List what is stale and why; run nothing.")
@verbose_option
@json_option
@click.pass_obj
def nightly(project: Project, dry_run: bool, verbose: bool, as_json: bool) -> None:
    """What the 02:00 schedule does, now: re-run everything stale, each slice from its first stale stage.

    Stale: the master spec or VSO's slice templates changed what a slice generates, a stage was never
    materialized, or the stage it is built from is newer (docs/keeping-in-sync.md)."""
    from ..launch.sync import nightly as run_nightly

    with project_instance(project) as instance, LiveProgress("finding what is stale") as progress:
        work, outcomes = run_nightly(project, instance, dry_run=dry_run, verbose=verbose, progress=progress)
    if as_json:
        emit_json({"stale": [{"slice_id": w.slice_id, "stages": w.assets, "why": w.reason} for w in work],
                   "outcomes": outcomes})
    elif dry_run:
        table = Table("slice", "from stage", "why")
        for item in work:
            table.add_row(item.slice_id, item.assets[0], item.reason)
        out.print(table if work else "Nothing is stale.")
    else:
        if outcomes:
            outcome_table(outcomes)
        out.print(f"{len(work)} slices were stale; nightly_last_run recorded in state.json.")
    if any(o.result == Result.FAILED for o in outcomes):
        sys.exit(1)


@project_command()
@click.option("--background", is_flag=True, help="Return at once; the work goes on in a detached process "
                                                  "(what the post-commit hook uses; log: logs/sync.log).")
@verbose_option
@json_option
@click.pass_obj
def sync(project: Project, background: bool, verbose: bool, as_json: bool) -> None:
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
    with project_instance(project) as instance, LiveProgress("reading the new commits") as progress:
        report = sync_commits(project, instance, verbose=verbose, progress=progress)
    changes = report.changes
    if as_json:
        emit_json({"since": changes.since, "head": changes.head, "master_changed": changes.master_changed,
                   "edited_slices": changes.edited_slices, "outcomes": report.outcomes, "advanced": report.advanced})
    if changes.since is None:
        out.print(f"Baseline set at {changes.head[:12]}: commits after it will be processed.")
    elif changes.since == changes.head:
        out.print("No new commit since the last sync.")
    else:
        master = "changed" if changes.master_changed else "unchanged"
        since = "since the slices were generated" if report.first else f"since {changes.since[:12]}"
        out.print(f"Commits {since}, up to {changes.head[:12]}: master spec {master}; slices edited: "
                  f"{', '.join(changes.edited_slices) or 'none'}; slices re-run: {len(report.outcomes)}")
    if report.outcomes and not as_json:
        outcome_table(report.outcomes)
    if not report.advanced:
        click.echo(f"{len(report.failed)} slice(s) failed; the sync cursor stays at "
                   f"{(changes.since or '')[:12]}, so the next `vso sync` (or `vso nightly`) retries them. "
                   f"Logs: {project.relative(project.logs_dir)}/", err=True)
        sys.exit(1)


@click.group(cls=VSOGroup)
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


