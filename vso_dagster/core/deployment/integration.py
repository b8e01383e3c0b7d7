"""Integration and performance tests of a deployed slice, the end-to-end tests of the dependency
paths that end at it, and the gate before production."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base.approvals import AWAITING, REJECTED, approval_of
from ..base.config import load_config
from ..base.errors import VSOError
from ..base.plan import load_plan
from ..base.project import Project
from ..base.slice_environment import slice_environment
from ..base.state import endpoints_in, load_state, record_integration
from ..base.unit_tests import TestRun, run_tests
from .deployments import deployments, service_dir
from .storage import data_memo
from .worker import JOB


def all_ran_green(tests: TestRun) -> bool:
    """Green, and nothing skipped: a test that did not run against the deployment shows nothing of it."""
    return tests.green and tests.skipped == 0


@dataclass(frozen=True)
class EndToEndRun:
    """tests/e2e against the slice in test, once every service on its dependency paths serves there."""

    upstream: dict[str, str]  # each slice on the paths -> the test deployment the tests met
    tests: TestRun | None  # None: they could not run yet (`waiting` says why)
    paths: list[dict]  # [{path: [names, far end first], result: "ok" or the first broken hop}]
    waiting: str = ""

    @property
    def passed(self) -> bool:
        return self.tests is not None and all_ran_green(self.tests)

    def summary(self) -> str:
        if self.tests is None:
            return f"end-to-end tests not run: {self.waiting}"
        return f"end-to-end {self.tests.summary()} ({len(self.paths)} dependency paths)"


@dataclass(frozen=True)
class IntegrationRun:
    slice_id: str
    environment: str
    url: str
    platform: str
    tests: TestRun | None  # None for a worker: its run in the environment is the evidence
    performance: dict | None  # {"percentile", "measured_ms", "budget_ms"} when the test measured it
    job_summary: dict | None = None  # what the worker's run there said it did
    e2e: EndToEndRun | None = None  # None: it calls no other slice (no tests/e2e)

    @property
    def passed(self) -> bool:
        if self.tests is None:
            return self.job_summary is not None
        return all_ran_green(self.tests) and (self.e2e is None or self.e2e.passed)

    def summary(self) -> str:
        if self.tests is None:
            return f"the job ran to completion in {self.environment}"
        return self.tests.summary() + (f"; {self.e2e.summary()}" if self.e2e else "")


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
    # The slices it calls are where its deploy wired them, for tests of the team's own that call them too.
    env = {"VSO_BASE_URL": endpoint["url"], **endpoint.get("wiring", {})}
    tests, performance = _with_report(project, tests_dir, env | data_memo(project, slice_id, environment),
                                      "VSO_PERF_REPORT")
    e2e = _end_to_end(project, slice_id, environment, tests_dir.parent / "e2e", env)
    run = IntegrationRun(slice_id, environment, endpoint["url"], endpoint["platform"], tests, performance, e2e=e2e)
    _record(project, run, endpoint)
    return run


def _end_to_end(project: Project, slice_id: str, environment: str, tests_dir: Path,
                env: dict[str, str]) -> EndToEndRun | None:
    if not any(tests_dir.glob("test_*.py")):
        return None
    served = deployments(project, environment)
    upstream = load_plan(project).upstream(slice_id)
    if missing := [sid for sid in upstream if sid not in served]:
        return EndToEndRun({}, None, [], f"{', '.join(missing)} not serving {environment}")
    tests, paths = _with_report(project, tests_dir, env, "VSO_E2E_REPORT")
    return EndToEndRun({sid: served[sid]["id"] for sid in upstream}, tests, paths or [])


def _with_report(project: Project, tests_dir: Path, env: dict[str, str], report_variable: str) -> tuple[TestRun, Any]:
    """The tests run, and what they wrote to the JSON file named by `report_variable` (None if nothing)."""
    with tempfile.TemporaryDirectory(prefix="vso-report-") as tmp:
        report = Path(tmp) / "report.json"
        tests = run_tests(tests_dir, env={**env, report_variable: str(report)}, passed=load_config(project).pass_env,
                          pytest=slice_environment(project, tests_dir.parent.parent).pytest)
        return tests, json.loads(report.read_text()) if report.exists() else None


def _record(project: Project, run: IntegrationRun, endpoint: dict) -> None:
    e2e = {} if run.e2e is None else {"e2e": {"passed": run.e2e.passed, "summary": run.e2e.summary(),
                                               "paths": run.e2e.paths, "upstream": run.e2e.upstream}}
    record_integration(project, run.slice_id, {"environment": run.environment, "passed": run.passed,
                                               "url": endpoint["url"], "deployment_id": endpoint["id"],
                                               "summary": run.summary(), **e2e})


def production_blocker(project: Project, slice_id: str) -> str | None:
    """Why the slice may not go to production (None when it may): its integration tests must have
    passed against what is deployed in test right now."""
    state = load_state(project)
    result = state["slices"].get(slice_id, {}).get("integration")
    if result is None:
        return "integration tests have not run against the test deployment"
    if not result["passed"]:
        return f"integration tests failed ({result['summary']})"
    serving = endpoints_in(state, "test")
    current = serving.get(slice_id)
    if current is None or current["id"] != result.get("deployment_id"):
        return "the test deployment changed since its integration tests ran"
    # The end-to-end tests met each slice on its dependency paths as deployed then: still so?
    if moved := [sid for sid, met in result.get("e2e", {}).get("upstream", {}).items()
                 if serving.get(sid, {}).get("id") != met]:
        return (f"the test deployment of {', '.join(moved)} changed since the end-to-end tests ran; run them again "
                f"(`vso test --slice-id {slice_id} --environment test`)")
    # What production would ship is the branch's tested head: the very commit test serves.
    if (tested := state["slices"][slice_id].get("tested_commit")) != current.get("commit"):
        return (f"its branch moved on since the test deployment ({(tested or '')[:12]} passed its unit tests, test "
                f"serves {(current.get('commit') or 'the skeleton')[:12]}); deploy it to test and run its integration "
                f"tests again")
    word = approval_of(state, slice_id, load_config(project).require_approval)
    if word == AWAITING:
        return f"{AWAITING}: `vso approve {slice_id}`, or `vso reject {slice_id} --reason ...`"
    if word is not None and word.startswith(REJECTED):
        return word
    return None
