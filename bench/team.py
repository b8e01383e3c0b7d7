"""Benchmark: a team of 4 roles up and briefed in tmux (the issue's target: <= 2 s); with --claude,
the time from a real Claude Code team's start to its first tool call.

    .venv/bin/python bench/team.py [RUNS]
    .venv/bin/python bench/team.py --claude [RUNS]     # needs `make agents`

Each run starts a session on a private tmux socket with four STAND-IN agents
(vso_dagster_tests/standin_agent.py, an interactive CLI that prints a prompt), waits until each
shows its prompt, and delivers a 4 KB briefing to each, verified on the pane. Prints each run and
the median.

With --claude, each run starts a one-role team whose agent is the real Claude Code in batch mode
(the built-in adapter's pane form, told where its briefing is), against the STAND-IN Anthropic API on
loopback. The model answers the first request with a Read of the briefing, so the second request,
which carries Read's result, is the first tool call done: timed from the team's start, with the
first request (the CLI's start-up) beside it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import libtmux

from vso_dagster.core.base.config import ADAPTERS, AgentSpec, Limits, agent_argv
from vso_dagster.core.implementation.slice_teams import type_roles
from vso_dagster.core.implementation.tmux_team import Team

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the stand-in model lives beside the tests, not in the installed package
from vso_dagster_tests.standin_model.anthropic_api import StandinAnthropic, tool_results  # noqa: E402

STANDIN = REPO / "vso_dagster_tests" / "standin_agent.py"
AGENTS_BIN = REPO / ".agents" / "node_modules" / ".bin"
ROLES = type_roles("web-api")  # the team of a web API slice, the most common kind
BRIEFING = "\n".join(f"line {i}: " + "the slice spec and the rules of the team " * 2 for i in range(45))


def one_run(workdir: Path) -> float:
    socket = f"vso-bench-{uuid.uuid4().hex[:8]}"
    agent = AgentSpec("stand-in", (sys.executable, str(STANDIN), "{role}", "bench"), "interactive", r"^> ?$")
    team = Team(libtmux.Server(socket_name=socket), "bench", workdir, agent, Limits(),
                workdir / "logs", workdir / "exits")
    started = time.perf_counter()
    try:
        team.start(ROLES, lambda role: [a.replace("{role}", role) for a in agent.argv])
        for role in ROLES:
            team.wait_ready(role)
            team.deliver(role, BRIEFING)
        return time.perf_counter() - started
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def claude_run(workdir: Path) -> tuple[float, float]:
    """(first request, first tool result) in seconds after the team started."""
    socket = f"vso-bench-{uuid.uuid4().hex[:8]}"
    briefing = workdir / "developer.md"
    briefing.write_text("# Briefing\n\nNothing to build: this run times the first tool call.\n")
    agent = ADAPTERS["claude"]
    argv = agent_argv(agent.pane_batch_argv, briefing=str(briefing))
    team = Team(libtmux.Server(socket_name=socket), "bench", workdir, agent, Limits(),
                workdir / "logs", workdir / "exits")
    with StandinAnthropic(code_for=lambda slice_id: "") as model:
        os.environ |= {"ANTHROPIC_BASE_URL": model.url, "ANTHROPIC_API_KEY": "standin-key",
                       "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
        started = time.monotonic()
        try:
            team.start(("developer",), lambda role: argv)
            while len([r for r in model.requests if tool_results(r["body"])]) < 1:
                if time.monotonic() - started > 120:
                    sys.exit("no tool result within 120 s: is Claude Code installed (make agents)?")
                time.sleep(0.01)
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    first = model.requests[0]["at"] - started
    tool = next(r["at"] for r in model.requests if tool_results(r["body"])) - started
    return first, tool


def main() -> None:
    args = sys.argv[1:]
    claude = "--claude" in args
    runs = int(next((a for a in args if a.isdigit()), "5"))
    with tempfile.TemporaryDirectory() as tmp:
        if claude:
            home = Path(tmp) / "home"
            home.mkdir()
            os.environ |= {"HOME": str(home), "PATH": f"{AGENTS_BIN}{os.pathsep}{os.environ['PATH']}"}
            pairs = [claude_run(Path(tmp)) for _ in range(runs)]
            for first, tool in pairs:
                print(f"Claude Code team: first request {first:.2f} s, first tool call done {tool:.2f} s")
            median = statistics.median(t for _, t in pairs)
            print(f"median first tool call {median:.2f} s over {runs} runs")
            print(json.dumps({"claude_first_tool_call_s": round(median, 3), "runs": runs}))
            return
        times = [one_run(Path(tmp)) for _ in range(runs)]
    for t in times:
        print(f"team of {len(ROLES)} up and briefed ({len(BRIEFING)} characters each): {t:.2f} s")
    print(f"median {statistics.median(times):.2f} s over {runs} runs")
    print(json.dumps({"team_up_and_briefed_s": round(statistics.median(times), 3), "runs": runs}))


if __name__ == "__main__":
    main()
