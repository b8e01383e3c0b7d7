"""Benchmark: a team of 4 roles up and briefed in tmux (the issue's target: <= 2 s).

    .venv/bin/python bench/team.py [RUNS]

Each run starts a session on a private tmux socket with four STAND-IN agents
(vso_dagster_tests/standin_agent.py, an interactive CLI that prints a prompt), waits until each
shows its prompt, and delivers a 4 KB briefing to each, verified on the pane. Prints each run and
the median.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import libtmux

from vso_dagster.core.base.config import ROLES, AgentSpec, Limits
from vso_dagster.core.implementation.tmux_team import Team

STANDIN = Path(__file__).resolve().parents[1] / "vso_dagster_tests" / "standin_agent.py"
BRIEFING = "\n".join(f"line {i}: " + "the slice spec and the rules of the team " * 2 for i in range(45))


def one_run(workdir: Path) -> float:
    socket = f"vso-bench-{uuid.uuid4().hex[:8]}"
    agent = AgentSpec("stand-in", (sys.executable, str(STANDIN), "{role}", "bench"), "interactive", r"^> ?$")
    team = Team(libtmux.Server(socket_name=socket), "bench", workdir, agent, Limits(), workdir / "logs")
    started = time.perf_counter()
    try:
        team.start(ROLES, lambda role: [a.replace("{role}", role) for a in agent.argv])
        for role in ROLES:
            team.wait_ready(role)
            team.deliver(role, BRIEFING)
        return time.perf_counter() - started
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        times = [one_run(Path(tmp)) for _ in range(runs)]
    for t in times:
        print(f"team of {len(ROLES)} up and briefed ({len(BRIEFING)} characters each): {t:.2f} s")
    print(f"median {statistics.median(times):.2f} s over {runs} runs")


if __name__ == "__main__":
    main()
