"""Runs a slice's tests with real pytest in a child process and reads its JUnit XML report."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .secrets import slice_env


@dataclass(frozen=True)
class TestRun:
    passed: int
    failed: int
    errors: int
    skipped: int
    duration_s: float
    failing: list[str] = field(default_factory=list)
    output_tail: str = ""
    environment: str = ""  # the digest of the slice environment the tests ran in (slice_environment.py)

    @property
    def green(self) -> bool:
        """Green means something ran and nothing failed: an empty or all-skipped suite is not green."""
        return self.passed > 0 and self.failed == 0 and self.errors == 0

    def summary(self) -> str:
        return (f"{self.passed} passed, {self.failed} failed, {self.errors} errors, {self.skipped} skipped "
                f"in {self.duration_s:.1f}s")

    def verdict(self, shown: int = 10) -> str:
        """The summary, and the first failing tests by name: what a user looks at next."""
        failing = f"; failing: {', '.join(self.failing[:shown])}" if self.failing else ""
        return self.summary() + failing


def run_tests(tests: Path | list[Path], *, cwd: Path | None = None, env: dict[str, str] | None = None,
              timeout_s: float = 600, passed: tuple[str, ...] = (),
              pytest: Sequence[str] = (sys.executable, "-m", "pytest")) -> TestRun:
    """pytest on one or more test directories (argv list, no shell), run by `pytest` (the slice
    environment's command), without the caller's pytest cache and without its secrets (slice_env)."""
    paths = tests if isinstance(tests, list) else [tests]
    with tempfile.TemporaryDirectory(prefix="vso-junit-") as tmp:
        report = Path(tmp) / "junit.xml"
        argv = [*pytest, *map(str, paths), "-q", "-p", "no:cacheprovider",
                f"--junitxml={report}", "-o", "junit_family=xunit2"]
        started = time.monotonic()
        try:
            done = subprocess.run(argv, cwd=cwd or paths[0], capture_output=True, text=True, timeout=timeout_s,
                                  env=slice_env(passed, **(env or {})))
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            output = f"pytest timed out after {timeout_s:.0f}s\n{exc.stdout or ''}"
        duration = time.monotonic() - started
        if not report.exists():
            return TestRun(0, 0, 1, 0, duration, ["pytest did not run (see output)"], output[-4000:])
        return _from_junit(report, duration, output[-4000:])


def _from_junit(report: Path, duration: float, output: str) -> TestRun:
    root = ET.parse(report).getroot()
    counts = {"failed": 0, "errors": 0, "skipped": 0, "total": 0}
    failing = []
    for case in root.iter("testcase"):
        counts["total"] += 1
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None:
            counts["failed"] += 1
            failing.append(name)
        elif case.find("error") is not None:
            counts["errors"] += 1
            failing.append(name)
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
    # Collection errors have no testcase of their own; the suite's error count still shows them.
    suite_errors = sum(int(s.get("errors", 0)) for s in root.iter("testsuite"))
    errors = max(counts["errors"], suite_errors)
    passed = counts["total"] - counts["failed"] - counts["errors"] - counts["skipped"]
    return TestRun(passed, counts["failed"], errors, counts["skipped"], duration, failing, output)
