"""Benchmark: local deploy to healthy, per slice (the issue's target: <= 3 s).

    .venv/bin/python bench/deploy.py

Implements the small example's slices with the scaffold agent in a fresh git project, then deploys
each to `test` on loopback (platform local) and times each deploy until GET /health answers.
"""

from __future__ import annotations

import shutil
import statistics
import time

from example_project import committed_example

from vso_dagster.core.deployment.local import deploy_local, destroy_local
from vso_dagster.core.implementation.implement import implement_slice


def main() -> None:
    project, plan = committed_example("todo-small")
    try:
        times = []
        for s in plan.slices:
            implement_slice(project, plan, s.slice_id)
            started = time.perf_counter()
            deploy_local(project, s.slice_id, "test")
            times.append(time.perf_counter() - started)
            print(f"{s.slice_id:28s} deployed and healthy in {times[-1]:.2f} s")
        print(f"median {statistics.median(times):.2f} s, max {max(times):.2f} s (target <= 3 s per slice)")
    finally:
        for s in plan.slices:
            destroy_local(project, s.slice_id, "test")
        shutil.rmtree(project.root, ignore_errors=True)


if __name__ == "__main__":
    main()
