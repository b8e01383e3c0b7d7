"""`vso decompose`: the master spec into vertical slices, through Dagster."""

from __future__ import annotations

import click

from ..core.base.errors import VSOError
from ..core.base.project import Project
from ..core.base.state import conflicts_of, load_state
from ..core.decomposition.decompose import current_plan
from ..core.sync.master_sync import section_is_current
from .progress import LiveProgress
from .project import json_option, project_command, project_instance, verbose_option
from .tables import emit_json, out, print_conflicts, slice_table, warn_unassigned

# `vso decompose` lists the slices it wrote; past this many, it counts the rest (rendering 1,000 rows took ~1 s).
TABLE_ROWS = 50


@project_command()
@click.option("--strict", is_flag=True, help="Refuse endpoints, models and requirements no component owns.")
@verbose_option
@json_option
@click.pass_obj
def decompose(project: Project, strict: bool, verbose: bool, as_json: bool) -> None:
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
    commit = None
    if plan is None:
        from ..launch.decompose import decompose as run_decompose

        with project_instance(project) as instance, LiveProgress("reading the master spec") as progress:
            report = run_decompose(project, instance, strict=strict, verbose=verbose, progress=progress)
        plan, stale, runs, commit = report.plan, report.stale, report.runs, report.commit
        if commit is not None:
            out.print(commit.summary(), soft_wrap=True)
    warn_unassigned(plan)
    conflicts = conflicts_of(load_state(project), set(stale))
    if as_json:
        return emit_json({"slices": len(plan.slices), "written": stale, "retired": plan.retired, "runs": runs,
                          "unassigned": plan.unassigned, "conflicts": conflicts,
                          "commit": commit})
    if stale:
        slice_table(load_state(project), only=stale[:TABLE_ROWS])
    if len(stale) > TABLE_ROWS:
        out.print(f"… and {len(stale) - TABLE_ROWS} more written or refreshed: `vso status` lists them all.")
    print_conflicts(conflicts)
    if not runs:
        out.print("Nothing changed since the last decomposition: no run started.")
    out.print(f"{len(plan.slices)} slices, {len(stale)} written or refreshed, "
              f"{len(plan.retired)} retired; Dagster runs: {len(runs)}. "
              f"Logs: {project.relative(project.logs_dir / 'decomposition.log')}. Browse: vso ui")
