"""STAND-IN for an interactive CLI coding agent (no AI here): it prints a `> ` prompt, reads what
is typed or pasted, and, as the developer, writes a correct implementation with VSO's scaffold
generator, commits it and writes the done marker named in its briefing. Other roles acknowledge.

    standin_agent.py ROLE SLICE_ID [BRIEFING_FILE]     (with a briefing file: batch mode)

STANDIN_BEHAVIOR picks a fault: crash (exit at start), crash-once (exit at its first start in a
working directory, work after a restart), hang (never answers), busy (slow to read
after the first message), lazy (signals done without implementing), limited (answers its briefing
with a usage-limit message and works only once told to retry). STANDIN_ENV_DUMP=PATH writes what it
sees of its environment to PATH.ROLE.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from vso_dagster.core.base.plan import Plan
from vso_dagster.core.implementation.scaffold_agent import implement

MARKER = re.compile(r"summary of what was built to `([^`]+)`")
REFINED = re.compile(r"to this file: `([^`]+)`")
NONCE = re.compile(r"^\[vso message ([0-9a-f]+)\]$")


def refine(briefing: str) -> None:
    """As the spec refiner: add one acceptance criterion (or, when lazy, write something broken)."""
    output = Path(REFINED.search(briefing)[1])
    spec = briefing.split("\n---\n\n", 1)[1]
    if os.environ.get("STANDIN_BEHAVIOR") == "lazy":
        output.write_text("I refined it, trust me.\n")
        return
    heading = "### As a user, I can:\n"
    output.write_text(spec.replace(heading, heading + "- get a clear error for bad input\n", 1))


def act(role: str, slice_id: str, briefing: str) -> None:
    if role == "refiner":
        return refine(briefing)
    marker = MARKER.search(briefing)
    if role != "developer" or marker is None:
        print(f"{role}: ok, standing by", flush=True)
        return
    if os.environ.get("STANDIN_BEHAVIOR") != "lazy":
        s = Plan.from_json(Path(".slice-orchestrator/plan.json").read_text()).slice(slice_id)
        Path(f"vertical-slices/{slice_id}/service/main.py").write_text(implement(s))
        subprocess.run(["git", "add", "-A", f"vertical-slices/{slice_id}"], check=True)
        subprocess.run(["git", "-c", "user.name=stand-in", "-c", "user.email=standin@localhost", "commit", "-qm",
                        f"{slice_id}: implement the service"], check=True)
        print(f"developer: implemented and committed {slice_id}", flush=True)
    Path(marker[1]).write_text(f"{slice_id}: service implemented by the stand-in agent\n")


def dump_environment(path: Path) -> None:
    """What an agent could learn of its environment: its own, and its tmux server's (the command
    any agent can run)."""
    shown = subprocess.run(["tmux", "show-environment", "-g"], capture_output=True, text=True).stdout
    path.write_text(json.dumps({"env": dict(os.environ), "tmux_global": shown}))


def main() -> None:
    role, slice_id = sys.argv[1], sys.argv[2]
    behavior = os.environ.get("STANDIN_BEHAVIOR", "")
    if dump := os.environ.get("STANDIN_ENV_DUMP"):
        dump_environment(Path(f"{dump}.{role}"))
    first_start = Path(f".standin-started-{role}")
    if behavior == "crash" or (behavior == "crash-once" and not first_start.exists()):
        first_start.touch()
        print("stand-in: crashing at start", flush=True)
        sys.exit(3)
    if len(sys.argv) > 3:  # batch: the briefing is a file; act once and exit
        act(role, slice_id, Path(sys.argv[3]).read_text())
        return
    lines: list[str] = []
    messages = 0
    briefing = ""
    while True:
        print("> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            return
        line = line.rstrip("\n").replace("\x1b[200~", "").replace("\x1b[201~", "")
        if not NONCE.match(line.strip()):
            lines.append(line)
            continue
        messages += 1
        print(f"{role}: received message {messages} ({NONCE.match(line.strip())[1]})", flush=True)
        if behavior == "hang":
            while True:
                time.sleep(3600)
        if behavior == "busy" and messages == 1:
            time.sleep(1.5)
        text = "\n".join(lines)
        lines = []
        briefing = text if MARKER.search(text) else briefing
        if behavior == "limited" and messages == 1:
            print("Error: you have reached your usage limit; try again later", flush=True)
            continue
        act(role, slice_id, briefing or text)


if __name__ == "__main__":
    main()
