"""Benchmark: local deploy to healthy, per slice (the issue's target: <= 3 s).

    .venv/bin/python bench/deploy.py

Implements the small example's slices with the scaffold agent in a fresh git project, then deploys
each to `test` on loopback (platform local) and times each deploy until GET /health answers.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from vso_dagster.core.decompose import load_plan, plan_project, read_project_spec, stale_slice_ids, write_slices
from vso_dagster.core.deploy_local import deploy_local, destroy_local
from vso_dagster.core.implement import implement_slice
from vso_dagster.core.project import Project
from vso_dagster.core.scaffold_project import init_project

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "todo-small.md"


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="vso-bench-deploy-"))
    project = Project.at(root)
    try:
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        init_project(project, "Bench")
        shutil.copy(EXAMPLE, project.master_spec)
        plan_project(project, read_project_spec(project))
        plan = load_plan(project)
        write_slices(project, plan, stale_slice_ids(project, plan))
        subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "s"],
                       check=True)
        times = []
        for s in plan["slices"]:
            implement_slice(project, plan, s["slice_id"])
            started = time.perf_counter()
            deploy_local(project, s["slice_id"], "test")
            times.append(time.perf_counter() - started)
            print(f"{s['slice_id']:28s} deployed and healthy in {times[-1]:.2f} s")
        print(f"median {statistics.median(times):.2f} s, max {max(times):.2f} s (target <= 3 s per slice)")
    finally:
        for s in load_plan(project)["slices"]:
            destroy_local(project, s["slice_id"], "test")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
