"""Benchmark: one slice partition from `dg` in a Dagster project that added VSO as a Component.

    .venv/bin/python bench/component_cli.py [RUNS]

Copies the test suite's Dagster project (vso_dagster_tests/fixtures/dg_project: the user's own asset,
the user's multiprocess executor), adds examples/todo-small.md as a VSO project with `dg scaffold
defs` (key prefix `todo`) and plans it, then, RUNS times and interleaved, times `dg list defs` (load
the deployment: the floor of any `dg` command), `dg launch --job todo_vso_slice_specs --partition
slice-001-auth` (VSO's job: its steps in process) and `dg launch --assets todo/slice_spec --partition
slice-001-auth` (Dagster's asset job, on the deployment's executor). Prints JSON with the medians.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from dagster_cli import BIN, PARTITION, REPO, timed

FIXTURE = REPO / "vso_dagster_tests/fixtures/dg_project"


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="vso-bench-component-") as tmp:
        project, deploy = Path(tmp) / "todo", Path(tmp) / "deploy"
        env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "VSO_PROJECT_ROOT")}
        project.mkdir()
        timed([BIN / "vso", "init", "--title", "Todo"], project, env)
        shutil.copy(REPO / "examples/todo-small.md", project / "master-spec.md")
        shutil.copytree(FIXTURE, deploy)
        env |= {"DAGSTER_HOME": str(deploy / ".dagster")}
        (deploy / ".dagster").mkdir()
        dg = [BIN / "dg"]
        timed([*dg, "scaffold", "defs", "vso_dagster.component.VSOComponent", "todo", "--project-root", "../todo",
               "--key-prefix", "todo"], deploy, env)
        timed([*dg, "launch", "--job", "todo_vso_plan"], deploy, env)
        listing, job, assets = [], [], []
        for _ in range(runs):
            listing.append(timed([*dg, "list", "defs"], deploy, env))
            job.append(timed([*dg, "launch", "--job", "todo_vso_slice_specs", "--partition", PARTITION], deploy, env))
            assets.append(timed([*dg, "launch", "--assets", "todo/slice_spec", "--partition", PARTITION], deploy, env))
    medians = {name: statistics.median(times) for name, times in
               (("list_defs_s", listing), ("launch_job_s", job), ("launch_assets_s", assets))}
    print(json.dumps({"runs": runs, **{k: round(v, 2) for k, v in medians.items()},
                      "job_vs_list": round(medians["launch_job_s"] / medians["list_defs_s"], 2),
                      "assets_vs_list": round(medians["launch_assets_s"] / medians["list_defs_s"], 2)}, indent=2))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
