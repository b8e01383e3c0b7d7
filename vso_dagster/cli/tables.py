"""What the `vso` command prints as tables, on one console."""

from __future__ import annotations

import dataclasses
import json
import sys

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.base.approvals import approval_of
from ..core.base.model import ENVIRONMENTS
from ..core.base.plan import Plan
from ..core.base.slice_selection import in_id_order
from ..core.base.state import endpoints_in
from ..launch.results import Outcome, Result

# Piped or captured output keeps whole slice IDs on one line instead of rich's 80-column default.
# `--json` makes it quiet: stdout then holds the JSON alone.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
COLOURS = {Result.IMPLEMENTED: "green", Result.PASSED: "green", Result.DEPLOYED: "green", Result.UNCHANGED: "dim",
           Result.BLOCKED: "yellow", Result.SKIPPED: "yellow", Result.FAILED: "red"}


def emit_json(data: object) -> None:
    """The command's result as JSON on stdout (Outcomes as objects, enums as their value)."""
    click.echo(json.dumps(data, indent=2, default=_plain))


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


SLICE_COLUMNS = ("slice", "component", "version", "status", "coverage", "platform", "serving", "depends on",
                 "agent spend")


def slice_table(state: dict, only: list[str] | None = None) -> None:
    out.out(slice_table_text(state, only or in_id_order(state["slices"])), highlight=False)


def slice_table_text(state: dict, slice_ids: list[str], approvals: bool = False) -> str:
    """`platform` is where the master spec means the slice to run; `serving` is where it runs now;
    `approvals`: production waits for a person's word, which the status says.
    Drawn here rather than by rich, whose table took 14 s for 10,000 rows; the same look, in 0.1 s."""
    return box_table(SLICE_COLUMNS, [_slice_row(state, slice_id, approvals) for slice_id in slice_ids], out.width)


def page_or_print(text: str, pager: bool) -> None:
    """Through the user's pager ($PAGER, else less) when it is longer than the terminal; else printed."""
    if pager and sys.stdout.isatty() and text.count("\n") >= out.size.height:
        click.echo_via_pager(text)
    else:
        click.echo(text)


def _slice_row(state: dict, slice_id: str, approvals: bool) -> list[str]:
    entry = state["slices"][slice_id]
    word = approval_of(state, slice_id, approvals)
    serving = [_serving(env, endpoints[slice_id]) for env, endpoints in
               ((env, endpoints_in(state, env)) for env in ENVIRONMENTS)
               if slice_id in endpoints]
    return [slice_id, entry.get("component", ""), entry.get("version", ""),
            entry.get("status", "") + (f" ({word})" if word else ""),
            "-" if entry.get("coverage") is None else f"{entry['coverage']:.0f}%",
            entry.get("platform", ""), ", ".join(serving) or "-", ", ".join(entry.get("dependencies", [])) or "-",
            _spend(entry.get("agent_spend"))]


def _serving(environment: str, deployment: dict) -> str:
    """Where the slice serves, and UNHEALTHY when its last health probe failed (`vso health`)."""
    ill = deployment.get("health", {}).get("healthy") is False
    return f"{environment} ({deployment['platform']}{', UNHEALTHY' if ill else ''})"


def slice_report_text(report: dict) -> str:
    """`vso show`: one line a fact, `-` where there is none yet."""
    def serving(env: str) -> str:
        where = report["serving"].get(env)
        if not where:
            return "-"
        health = "healthy" if where["healthy"] else f"UNHEALTHY ({where['health']})"
        return f"{where['url'] or '(a worker: no URL)'} ({where['platform']}, {health}, commit " \
               f"{(where['commit'] or '?')[:8]})"

    integration = report["integration"]
    covered = "-" if report["coverage"] is None else f"{report['coverage']:.0f}% of its lines, by its unit tests"
    lines = [
        f"{report['slice_id']}  {report['component']}  ({report['kind'] or 'retired'}, {report['platform']})  "
        f"{report['status']}  v{report['version']}",
        *(f"  {line}" for line in report["description"].splitlines()[:3]),
        f"  depends on:   {', '.join(report['depends_on']) or '-'}",
        f"  calls:        {', '.join(report['calls']) or '-'}",
        f"  endpoints:    {', '.join(report['endpoints']) or '-'}",
        f"  latency:      {report['latency_budget'] or '-'}",
        f"  branch:       {report['branch'] or '-'}"
        + (f" (tested at {report['tested_commit'][:8]})" if report["tested_commit"] else " (not tested yet)"),
        "  integration:  " + (f"{'passed' if integration['passed'] else 'FAILED'}: {integration.get('summary', '')} "
                              f"({integration['at']})" if integration else "-"),
        *(f"  path:         {' -> '.join(p['path'])}: {p['result']}"
          for p in ((integration or {}).get("e2e") or {}).get("paths", [])),
        *([f"  approval:     {report['approval']}"] if report["approval"] else []),
        *(f"  {env + ':':<13} {serving(env)}" for env in ENVIRONMENTS),
        *(f"  {env + ' data:':<13} {where['database']}" for env, where in report["serving"].items()
          if where.get("database")),
        f"  coverage:     {covered}",
        f"  agent spend:  {_spend(report['agent_spend'])}",
        f"  conflicts:    {', '.join(report['conflicts']) or '-'}",
        "  last runs:    " + ("-" if not report["runs"] else ""),
        *(f"    {r['created']}  {r['job']}  {r['status']}  {r['run_id'][:8]}" for r in report["runs"]),
    ]
    return "\n".join(lines)


def box_table(headers: tuple[str, ...], rows: list[list[str]], width: int) -> str:
    """A table in rich's default box, one line per row; when it is wider than `width`, the widest
    columns are cut (ending in …) until it fits, down to 12 characters each."""
    rows = [[" ".join(cell.split()) for cell in row] for row in rows]  # one line per row
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    excess = sum(widths) + 3 * len(widths) + 1 - width
    while excess > 0 and max(widths) > 12:
        widths[widths.index(max(widths))] -= 1
        excess -= 1

    def fit(text: str, w: int) -> str:
        return text if len(text) <= w else text[:w - 1] + "…"

    def rule(left: str, middle: str, right: str, fill: str) -> str:
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def cells(values, bar: str) -> str:
        return bar + bar.join(f" {fit(v, w):<{w}} " for v, w in zip(values, widths, strict=True)) + bar

    return "\n".join([rule("┏", "┳", "┓", "━"), cells(headers, "┃"), rule("┡", "╇", "┩", "━"),
                      *(cells(row, "│") for row in rows), rule("└", "┴", "┘", "─")])


def _spend(spent: dict | None) -> str:
    """A slice's agent spend, summed over its team runs: cost and tokens as the agents reported them."""
    if not spent:
        return "-"
    tokens = (spent["tokens_in"] or 0) + (spent["tokens_out"] or 0)
    cost = f"${spent['cost_usd']:.2f}" if spent.get("cost_usd") is not None else "cost not reported"
    return f"{cost}, {tokens:,.0f} tokens, {spent['runs']:.0f} runs" if tokens else \
        f"not reported, {spent['runs']:.0f} runs"


def report(outcomes: list[Outcome], as_json: bool) -> None:
    """Slices' results: a table, or with --json a list of objects."""
    if as_json:
        emit_json(outcomes)
    else:
        outcome_table(outcomes)


def outcome_table(outcomes: list[Outcome]) -> None:
    """One row per slice; a failure's whole reason (often several lines) is printed below the table."""
    table = Table("slice", "result", "detail", "Dagster run")
    for o in outcomes:
        first_line = o.detail.strip().splitlines()[0] if o.detail.strip() else ""
        table.add_row(o.slice_id, f"[{COLOURS[o.result]}]{o.result}[/]", Text(first_line), (o.run_id or "-")[:8])
    out.print(table)
    for o in outcomes:  # a reason the table had to wrap or cut is printed whole, on one line each
        if o.result == "failed" and ("\n" in o.detail.strip() or len(o.detail) > 100):
            click.echo(f"{o.slice_id}: {o.detail.strip()}", err=True)


def print_conflicts(conflicts: list[dict]) -> None:
    """The conflicts of the slices just written: said where the write happens, not only in `vso status`."""
    for conflict in conflicts:
        beside = f"; the master's version is in {conflict['proposal']}" if conflict.get("proposal") else ""
        out.print(f"conflict: {conflict['path']}: {conflict['reason']}: your edit is kept{beside}. Settle it with "
                  f"`vso resolve {conflict['slice_id']} --take master|slice|merged`.", soft_wrap=True)


def warn_unassigned(plan: Plan) -> None:
    """Items no component owns: a warning on stderr, at the master spec's line (`--strict` makes them errors)."""
    for item in plan.unassigned:
        click.echo(f"{plan.master['path']}:{item.line}: warning: {item.kind} {item.label!r} is not assigned "
                   f"to any component ({item.reason})", err=True)
