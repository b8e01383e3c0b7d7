"""The watchdog window of a team's tmux session: it closes the session once the VSO process that
runs the team is gone.

A `vso orchestrate` (or a Dagster run worker) killed with SIGKILL runs no cleanup, and its agents
would otherwise work on, and cost, for nobody until the next orchestrate or `vso stop`. The
watchdog lives inside the session it guards, so it ends with the session, needs no daemon of its
own, and reaches its tmux server through the `TMUX` variable tmux gives every pane. Before it
closes the session it keeps each agent's pane history in the team's logs, as the team's own stop
does.

Run by tmux as: python -m vso_dagster.core.implementation.team_watchdog OWNER SESSION LOG_DIR ROLE...
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ..base.process_group import is_running
from ..base.project import atomic_write

WINDOW = "watchdog"
POLL_S = 1.0


def watchdog_argv(owner: str, session: str, log_dir: Path, roles: tuple[str, ...]) -> list[str]:
    # -I: the pane opens in the slice's worktree, whose files must not shadow VSO's own modules.
    module = "vso_dagster.core.implementation.team_watchdog"
    return [sys.executable, "-I", "-m", module, owner, session, str(log_dir), *roles]


def pane_history(tmux: list[str], session: str, role: str) -> str | None:
    """The whole history of the role's pane (None when the window is gone)."""
    shown = subprocess.run([*tmux, "capture-pane", "-p", "-J", "-S", "-", "-t", f"={session}:{role}"],
                           capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def save_pane_log(log_dir: Path, role: str, text: str) -> None:
    # Written by rename: a symlink planted where the log goes is replaced, never written through.
    atomic_write(log_dir / f"{role}.log", text.rstrip("\n") + "\n")


def guard(owner: str, session: str, log_dir: Path, roles: list[str], tmux: list[str]) -> None:
    while is_running(owner):
        time.sleep(POLL_S)
    for role in roles:
        if (text := pane_history(tmux, session, role)) is not None:
            save_pane_log(log_dir, role, text)
    subprocess.run([*tmux, "kill-session", "-t", f"={session}"], capture_output=True)


def main(argv: list[str]) -> int:
    owner, session, log_dir, *roles = argv
    guard(owner, session, Path(log_dir), roles, ["tmux"])  # TMUX names the server this pane is on
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
