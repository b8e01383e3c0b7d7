"""`vso deploy`, `vso test --environment` and `vso deliver`: one Dagster run per slice."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable

import dagster as dg

from ..core.base.plan import load_plan
from ..core.base.project import Project
from ..core.implementation.implement import most_waited_on_first, priorities
from ..deployment import DELIVER_JOB, DEPLOY_PRODUCTION_JOB, DEPLOY_TEST_JOB, INTEGRATION_JOB
from ..lib.partitions import ensure_slice_partitions
from .checks import QUIET
from .jobs import naming, resolved
from .results import SILENT, Outcome, Progress, Result, failure_reason
from .runs import FinishedRun, RunStarter
from .waves import Decision, run_in_waves

JOBS = {"test": DEPLOY_TEST_JOB, "production": DEPLOY_PRODUCTION_JOB, "integration": INTEGRATION_JOB,
        "deliver": DELIVER_JOB}


def run_deployment_job(project: Project, instance: dg.DagsterInstance, what: str, slice_id: str, *,
                       platform: str | None = None, verbose: bool = False) -> Outcome:
    """`platform` None: the assets' default ([deploy] platform in config.toml, else local)."""
    load_plan(project).slice(slice_id)
    ensure_slice_partitions(instance, naming.slices, [slice_id])
    return deploy_one(RunStarter.for_project(project, instance), slice_id, what, platform, verbose)


def deploy_slices(project: Project, instance: dg.DagsterInstance, what: str, slice_ids: list[str], *,
                  platform: str | None = None, verbose: bool = False, concurrency: int = 1,
                  progress: Progress = SILENT) -> list[Outcome]:
    """Deploys slices in dependency waves, up to `concurrency` at once: a slice starts once the slices
    it depends on, of those asked for, are through (so its integration tests meet them serving). A
    slice whose dependency failed here is blocked, not deployed against what is not there."""
    plan = load_plan(project)
    wanted = list(dict.fromkeys(plan.slice(sid).slice_id for sid in slice_ids))  # a slice named twice runs once
    ensure_slice_partitions(instance, naming.slices, wanted)
    asked, outcomes = set(wanted), {}
    where = f" ({platform})" if platform else ""
    progress.phase(f"deploying{where}, {min(concurrency, len(wanted))} at once", len(wanted))

    def decide(sid: str, unfinished: Callable[[str], bool]) -> Decision:
        dependencies = [dep for dep in plan.slice(sid).dependencies if dep in asked]
        if any(unfinished(dep) for dep in dependencies):
            return None
        # Every dependency asked for is through, so each has its outcome.
        if lost := [dep for dep in dependencies if outcomes[dep].result in (Result.FAILED, Result.BLOCKED)]:
            return Outcome(sid, Result.BLOCKED, f"blocked by: {', '.join(lost)} (not deployed here)")
        return (what, platform, verbose)

    run_in_waves(RunStarter.for_project(project, instance), deploy_one,
                 most_waited_on_first(plan, wanted, priorities(plan)), lambda: decide, outcomes, progress,
                 concurrency=concurrency)
    return [outcomes[sid] for sid in wanted]


def deploy_one(runs: RunStarter, slice_id: str, what: str, platform: str | None, verbose: bool) -> Outcome:
    """One run of the slice's deployment job. A module-level function: a worker process runs it."""
    job = resolved(JOBS[what])
    deploying = [op for op in ("test_deployment", "production_deployment") if op in job.graph.node_dict]
    run_config = {**({} if verbose else QUIET),
                  **({"ops": {op: {"config": {"platform": platform}} for op in deploying}} if platform else {})}
    started = time.monotonic()
    result = runs.run(job, partition_key=slice_id, run_config=run_config)
    return dataclasses.replace(_outcome(slice_id, result), duration_s=time.monotonic() - started)


def went_home(production: dict) -> str:
    """What became of the slice's branch, from production_deployment's metadata, said plainly:
    a branch that did not go home is named with the reason, in the CLI output as in the run."""
    result, detail = production["merged_to_main"].value, production["merge_detail"].value
    return detail if result in ("merged", "up_to_date") else f"NOT merged home ({result}): {detail}"


def _where(deployed: dict) -> str:
    """Where a deploy serves: its endpoint, or, for a worker, that its job ran (and what it did)."""
    if "endpoint" in deployed:
        return deployed["endpoint"].value
    return f"the job ran to completion ({json.dumps(deployed['job_summary'].value, sort_keys=True)})"


def _outcome(slice_id: str, result: FinishedRun) -> Outcome:
    if not result.success:
        return Outcome(slice_id, Result.FAILED, failure_reason(result)[0], result.run_id)
    materialized = result.materializations()
    if "production_deployment" in materialized:
        meta = materialized["production_deployment"]
        return Outcome(slice_id, Result.DEPLOYED, f"production: {_where(meta)}; {went_home(meta)}", result.run_id)
    if "integration_tests" in materialized and "test_deployment" not in materialized:
        meta = materialized["integration_tests"]
        if "job_summary" in meta:
            return Outcome(slice_id, Result.PASSED, "the job's run in test succeeded", result.run_id)
        perf = next((f"{k} {v.value} ms" for k, v in meta.items() if k.startswith("p") and k.endswith("_ms")), "")
        return Outcome(slice_id, Result.PASSED, f"{meta['passed'].value} integration tests passed; {perf}".rstrip("; "),
                       result.run_id)
    if "test_deployment" in materialized and "integration_tests" not in materialized:
        return Outcome(slice_id, Result.DEPLOYED, f"test: {_where(materialized['test_deployment'])}", result.run_id)
    skipped = [e.asset_observation_data.asset_observation.metadata["skipped"].value
               for e in result.get_asset_observation_events()]
    return Outcome(slice_id, Result.SKIPPED, skipped[0] if skipped else "nothing to do", result.run_id)
