"""Benchmark: the whole `make demo` pipeline (the issue's target: <= 60 s on the small example).

    .venv/bin/python bench/pipeline.py                 # examples/todo-small.md
    .venv/bin/python bench/pipeline.py marketplace     # the 10-slice example

Runs `make demo` itself, into a fresh temporary directory, and times each command make runs by the
moment make echoes the next one: init, validate, decompose, commit, orchestrate (scaffold agent),
deploy (test, integration tests, production; platform local), status. The services it starts are
destroyed at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VSO = REPO / ".venv/bin/vso"


def main(example: str) -> None:
    demo = Path(tempfile.mkdtemp(prefix=f"vso-bench-demo-{example}-")) / "demo"
    argv = ["make", "--no-print-directory", "demo", f"DEMO={demo}", f"DEMO_SPEC=examples/{example}.md"]
    steps: list[tuple[str, float]] = []
    started = last = time.perf_counter()
    current = "make (install check)"
    with subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as make:
        for line in make.stdout:
            command = line.strip()
            if command.startswith((".venv/bin/vso", "git ", "mkdir ", "cp ", "rm ", "test ")):
                now = time.perf_counter()
                steps.append((current, now - last))
                current, last = _step_name(command), now
    steps.append((current, time.perf_counter() - last))
    total = time.perf_counter() - started
    try:
        if make.returncode != 0:
            sys.exit(f"make demo failed (exit {make.returncode})")
        timed = {}
        for name, seconds in steps:
            timed[name] = round(timed.get(name, 0.0) + seconds, 2)
        print(json.dumps({"example": example, "steps_s": timed, "total_s": round(total, 1)}, indent=2))
    finally:
        subprocess.run([VSO, "--project-root", demo, "destroy", "--all", "--environment", "both"],
                       capture_output=True)


def _step_name(command: str) -> str:
    words = command.split()
    if words[0].endswith("vso"):
        return next(w for w in words[3:] if not w.startswith("-"))
    return "shell (git, cp, mkdir)"


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "todo-small")
