"""Runs an agent CLI in its tmux pane and writes down how it ended.

tmux 3.3a marks a pane dead as soon as its terminal closes, but about half the times an agent is
killed by a signal it never records the signal, nor any status (measured: Claude Code under
SIGKILL). A killed batch agent would then pass for one that finished its work. So each agent runs
under this small runner: it waits for the agent and writes the agent's status to a file (a negative
number: the signal that ended it) before it exits itself the same way. The team reads the file; what
tmux recorded is only a fallback, for when the runner itself was killed.

Standard library only, run as a script: it starts in every pane, and must start fast.

    python exit_record.py STATUS_FILE -- ARGV...
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def read_status(path: Path) -> int | None:
    """The recorded status (negative: the signal), or None if the agent has not ended under a runner."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def runner_argv(status_file: Path, argv: list[str]) -> list[str]:
    return [sys.executable, "-I", str(Path(__file__).resolve()), str(status_file), "--", *argv]


def main(args: list[str]) -> int:
    status_file, command = Path(args[0]), args[2:]
    agent = subprocess.Popen(command)
    # The terminal's own signals reach the agent directly (it shares the pane's process group); the
    # runner outlives them to see how the agent ends. A hang-up or a kill aimed at the runner alone
    # is passed on to the agent.
    for ignored in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP):
        signal.signal(ignored, signal.SIG_IGN)
    for passed_on in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(passed_on, lambda number, _frame: agent.send_signal(number))
    status = agent.wait()
    written = status_file.with_name(status_file.name + ".tmp")
    written.write_text(f"{status}\n")
    os.replace(written, status_file)
    if status < 0:
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
