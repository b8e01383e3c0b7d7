"""Benchmark: `deploy --all` of the realistic example's 10 slices, one at a time and two at once.

    .venv/bin/python bench/deploy_all.py

For each concurrency, a fresh git project of examples/marketplace.md is decomposed, committed and
implemented by the scaffold agent (not timed), then every slice is delivered on loopback (platform
local): test deploy, integration tests, production, branch home. The same code as `vso deploy --all`.
The target: at concurrency 2, at most 0.6x the sequential wall time.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import dagster as dg
from example_project import committed_example

from vso_dagster.core.deployment.deploy import destroy
from vso_dagster.launch.deploy import deploy_slices
from vso_dagster.launch.implement import orchestrate
from vso_dagster.lib.instance import use_project_instance


def deliver_all(concurrency: int) -> float:
    os.environ.pop("DAGSTER_HOME", None)
    project, plan = committed_example("marketplace")
    try:
        use_project_instance(project)
        with dg.DagsterInstance.get() as instance:
            built = orchestrate(project, instance, None, concurrency=2)
            assert all(o.result == "implemented" for o in built), built
            started = time.perf_counter()
            outcomes = deploy_slices(project, instance, "deliver", plan.slice_ids, platform="local",
                                     concurrency=concurrency)
            wall = time.perf_counter() - started
        assert all(o.result == "deployed" for o in outcomes), outcomes
        busy = sum(o.duration_s for o in outcomes)
        print(f"concurrency {concurrency}: {len(outcomes)} slices delivered in {wall:.1f} s; the slices' runs "
              f"took {busy:.1f} s together, so {busy / wall:.2f} ran at a time on average")
        return wall
    finally:
        for sid in plan.slice_ids:
            for environment in ("test", "production"):
                destroy(project, sid, environment)
        shutil.rmtree(project.root, ignore_errors=True)


def main() -> None:
    sequential, parallel = deliver_all(1), deliver_all(2)
    print(f"deploy --all at concurrency 2: {parallel / sequential:.2f}x the sequential time (target <= 0.6)")
    print(json.dumps({"concurrency_1_s": round(sequential, 2), "concurrency_2_s": round(parallel, 2),
                      "ratio": round(parallel / sequential, 3)}))


if __name__ == "__main__":
    main()
