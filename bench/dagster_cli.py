"""Benchmark: one slice partition from Dagster's own CLI, against loading the definitions.

    .venv/bin/python bench/dagster_cli.py [RUNS]

Decomposes examples/todo-small.md with `vso decompose` in a fresh temporary project, then, RUNS
times and interleaved, times `dagster asset list` (load the definitions, print the keys: the floor
of any `dagster` command on this code location) and `dagster asset materialize --select slice_spec
--partition slice-001-auth` on the project's instance. Prints JSON with the medians and their ratio.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PARTITION = "slice-001-auth"


def timed(argv: list, cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, argv))} failed:\n{done.stderr[-3000:]}")
    return elapsed


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="vso-bench-dagster-cli-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        shutil.copy(REPO / "examples/todo-small.md", root / "master-spec.md")
        env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "VSO_PROJECT_ROOT")}
        timed([BIN / "vso", "decompose"], root, env)
        env |= {"DAGSTER_HOME": str(root / ".slice-orchestrator/dagster"), "VSO_PROJECT_ROOT": str(root)}
        module = ["-m", "vso_dagster.definitions"]
        listing, materialize = [], []
        for _ in range(runs):
            listing.append(timed([BIN / "dagster", "asset", "list", *module], root, env))
            materialize.append(timed([BIN / "dagster", "asset", "materialize", *module, "--select", "slice_spec",
                                      "--partition", PARTITION], root, env))
    list_s, materialize_s = statistics.median(listing), statistics.median(materialize)
    print(json.dumps({"runs": runs, "asset_list_s": round(list_s, 2), "asset_materialize_s": round(materialize_s, 2),
                      "materialize_vs_list": round(materialize_s / list_s, 2),
                      "all_list_s": [round(t, 2) for t in listing],
                      "all_materialize_s": [round(t, 2) for t in materialize]}, indent=2))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
