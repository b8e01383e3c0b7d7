"""Integration and performance tests of a deployed slice, and the gate before production."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..base.approvals import AWAITING, REJECTED, approval_of
from ..base.config import load_config
from ..base.errors import VSOError
from ..base.project import Project
from ..base.slice_environment import slice_environment
from ..base.state import endpoints_in, load_state, record_integration
from ..base.unit_tests import TestRun, run_tests
from .deployments import deployments, service_dir
from .worker import JOB


@dataclass(frozen=True)
class IntegrationRun:
    slice_id: str
    environment: str
    url: str
    platform: str
    tests: TestRun | None  # None for a worker: its run in the environment is the evidence
    performance: dict | None  # {"percentile", "measured_ms", "budget_ms"} when the test measured it
    job_summary: dict | None = None  # what the worker's run there said it did

    @property
    def passed(self) -> bool:
        return self.job_summary is not None if self.tests is None else self.tests.green and self.tests.skipped == 0

    def summary(self) -> str:
        return f"the job ran to completion in {self.environment}" if self.tests is None else self.tests.summary()


def run_integration_tests(project: Project, slice_id: str, environment: str = "test") -> IntegrationRun:
    endpoint = deployments(project, environment).get(slice_id)
    if endpoint is None:
        raise VSOError(f"{slice_id}: not deployed to {environment}; `vso deploy --slice-id {slice_id} "
                       f"--environment {environment}` first")
    if endpoint.get("kind") == JOB:
        # A job has no endpoint to test: the run its deploy made there, exit 0 with a summary, is the test.
        run = IntegrationRun(slice_id, environment, "", endpoint["platform"], None, None, endpoint["summary"])
        _record(project, run, endpoint)
        return run
    tests_dir = service_dir(project, slice_id).parent / "tests" / "integration"
    if not any(tests_dir.glob("test_*.py")):
        raise VSOError(f"{project.relative(tests_dir)}: {slice_id} has no integration tests (test_*.py), so nothing "
                       f"shows it works and production stays closed; write some there")
    with tempfile.TemporaryDirectory(prefix="vso-perf-") as tmp:
        report = Path(tmp) / "performance.json"
        tests = run_tests(tests_dir, env={"VSO_BASE_URL": endpoint["url"], "VSO_PERF_REPORT": str(report)},
                          passed=load_config(project).pass_env,
                          pytest=slice_environment(project, tests_dir.parent.parent).pytest)
        performance = json.loads(report.read_text()) if report.exists() else None
    run = IntegrationRun(slice_id, environment, endpoint["url"], endpoint["platform"], tests, performance)
    _record(project, run, endpoint)
    return run


def _record(project: Project, run: IntegrationRun, endpoint: dict) -> None:
    record_integration(project, run.slice_id, {"environment": run.environment, "passed": run.passed,
                                               "url": endpoint["url"], "deployment_id": endpoint["id"],
                                               "summary": run.summary()})


def production_blocker(project: Project, slice_id: str) -> str | None:
    """Why the slice may not go to production (None when it may): its integration tests must have
    passed against what is deployed in test right now."""
    state = load_state(project)
    result = state["slices"].get(slice_id, {}).get("integration")
    if result is None:
        return "integration tests have not run against the test deployment"
    if not result["passed"]:
        return f"integration tests failed ({result['summary']})"
    current = endpoints_in(state, "test").get(slice_id)
    if current is None or current["id"] != result.get("deployment_id"):
        return "the test deployment changed since its integration tests ran"
    word = approval_of(state, slice_id, load_config(project).require_approval)
    if word == AWAITING:
        return f"{AWAITING}: `vso approve {slice_id}`, or `vso reject {slice_id} --reason ...`"
    if word is not None and word.startswith(REJECTED):
        return word
    return None
