"""Runs a slice's tests with real pytest in a child process and reads its JUnit XML report, and,
for unit tests, how much of the slice's implementation they ran (coverage.py, line coverage)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
    coverage: float | None = None  # percent of the implementation's lines the tests ran; None: not measured
    min_coverage: float = 0.0  # what green asks of it ([tests] min_coverage); 0: nothing

    @property
    def green(self) -> bool:
        """Green means something ran, nothing failed, and the tests ran enough of the implementation:
        an empty or all-skipped suite is not green, nor one that leaves most of the code untried."""
        return self.passed > 0 and self.failed == 0 and self.errors == 0 and self.covers_enough

    @property
    def covers_enough(self) -> bool:
        return self.min_coverage <= 0 or (self.coverage is not None and self.coverage >= self.min_coverage)

    def summary(self) -> str:
        covered = "" if self.coverage is None else f", {self.coverage:.0f}% line coverage"
        return (f"{self.passed} passed, {self.failed} failed, {self.errors} errors, {self.skipped} skipped "
                f"in {self.duration_s:.1f}s{covered}")

    def verdict(self, shown: int = 10) -> str:
        """The summary, and the first failing tests by name (or the coverage the tests fall short of):
        what a user looks at next."""
        failing = f"; failing: {', '.join(self.failing[:shown])}" if self.failing else ""
        short = "" if self.covers_enough else (
            f"; line coverage {'not measured' if self.coverage is None else f'{self.coverage:.0f}%'} is below "
            f"[tests] min_coverage = {self.min_coverage:g}%: test more of the implementation")
        return self.summary() + failing + short


def run_tests(tests: Path | list[Path], *, cwd: Path | None = None, env: dict[str, str] | None = None,
              timeout_s: float = 600, passed: tuple[str, ...] = (),
              pytest: Sequence[str] = (sys.executable, "-m", "pytest"), covering: Path | None = None) -> TestRun:
    """pytest on one or more test directories (argv list, no shell), run by `pytest` (the slice
    environment's command: its interpreter, `-m pytest`, its options), without the caller's pytest
    cache and without its secrets (slice_env). `covering`: the directory whose line coverage is
    measured, under coverage.py in the same interpreter."""
    paths = tests if isinstance(tests, list) else [tests]
    with tempfile.TemporaryDirectory(prefix="vso-junit-") as tmp:
        report, data = Path(tmp) / "junit.xml", Path(tmp) / ".coverage"
        python, module, *options = pytest
        measured = ["-m", "coverage", "run", f"--data-file={data}", f"--source={covering}"] if covering else []
        argv = [python, *measured, module, *options, *map(str, paths), "-q", "-p", "no:cacheprovider",
                f"--junitxml={report}", "-o", "junit_family=xunit2"]
        started = time.monotonic()
        run_env = slice_env(passed, **(env or {}))
        try:
            done = subprocess.run(argv, cwd=cwd or paths[0], capture_output=True, text=True, timeout=timeout_s,
                                  env=run_env)
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            output = f"pytest timed out after {timeout_s:.0f}s\n{exc.stdout or ''}"
        duration = time.monotonic() - started
        if not report.exists():
            return TestRun(0, 0, 1, 0, duration, ["pytest did not run (see output)"], output[-4000:])
        run = _from_junit(report, duration, output[-4000:])
        return replace(run, coverage=_percent_covered(python, data, run_env)) if covering else run


def _percent_covered(python: str, data: Path, env: dict[str, str]) -> float | None:
    """The total line coverage in `data`; 0 when the tests ran none of the code, None when
    coverage.py could not say (its data is missing)."""
    if not data.exists():
        return None
    report = data.with_name("coverage.json")
    done = subprocess.run([python, "-m", "coverage", "json", f"--data-file={data}", "-o", str(report), "-q"],
                          capture_output=True, text=True, timeout=120, env=env)
    if done.returncode != 0:
        return 0.0 if "No data to report" in done.stdout + done.stderr else None
    return round(json.loads(report.read_text())["totals"]["percent_covered"], 1)


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
