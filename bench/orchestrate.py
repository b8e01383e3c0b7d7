"""Benchmark: the realistic example's 10 slices implemented by the scaffold agent at concurrency 2.

    .venv/bin/python bench/orchestrate.py [CONCURRENCY]

Decomposes examples/marketplace.md in a fresh git project, commits it, then times
`orchestrate --all` (the same code as `vso orchestrate --all`) and compares the wall time with the
ideal: the sum of the per-slice run times divided by the concurrency. The issue's target is a wall
time within 1.3x of that ideal.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import dagster as dg
from example_project import committed_example

from vso_dagster.launch.implement import orchestrate
from vso_dagster.lib.instance import use_project_instance


def main() -> None:
    concurrency = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    os.environ.pop("DAGSTER_HOME", None)
    project, _ = committed_example("marketplace")
    try:
        use_project_instance(project)
        with dg.DagsterInstance.get() as instance:
            started = time.perf_counter()
            outcomes = orchestrate(project, instance, None, concurrency=concurrency)
            wall = time.perf_counter() - started
        assert all(o.result == "implemented" for o in outcomes), outcomes
        total = sum(o.duration_s for o in outcomes)
        ideal = total / concurrency
        for o in outcomes:
            print(f"{o.slice_id:28s} {o.duration_s:5.2f} s")
        print(f"{len(outcomes)} slices, concurrency {concurrency}: wall {wall:.1f} s, sum of slice runs {total:.1f} s, "
              f"ideal {ideal:.1f} s, wall/ideal {wall / ideal:.2f} (target <= 1.3)")
    finally:
        shutil.rmtree(project.root, ignore_errors=True)


if __name__ == "__main__":
    main()
