"""Child processes VSO starts in a process group of their own (a local service, `dagster dev` under
`vso ui`), and how a whole group is stopped: nothing it started is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop_group(pid: int, grace_s: float = 10.0) -> None:
    """SIGTERM to the group led by `pid`; once the leader has exited, or `grace_s` has passed,
    SIGKILL to whatever is left of the group (children that ignore or outlive the leader)."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _alive(pid)  # reap the leader when it is our child


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return not finished
    except ChildProcessError:  # not our child: look it up
        return Path(f"/proc/{pid}").exists()


def run_in_foreground(argv: list[str], grace_s: float, **popen: object) -> int:
    """Runs `argv` in a process group of its own until it exits, and returns its status. Ctrl-C,
    SIGTERM or SIGHUP to this process stops the whole group within `grace_s` seconds (a program
    that shuts down slowly, such as `dagster dev` waiting on its webserver, is not waited for)."""
    child = subprocess.Popen(argv, start_new_session=True, **popen)
    received: list[int] = []

    def forward(signum: int, _frame) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        return child.wait()
    except KeyboardInterrupt:
        stop_group(child.pid, grace_s)
        return 128 + (received[0] if received else signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def process_identity(pid: int | None = None) -> str:
    """A process, named so that a later process given the same pid is not taken for it: the pid
    and the kernel's start time of the process (field 22 of /proc/PID/stat); "" when it is gone."""
    pid = os.getpid() if pid is None else pid
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""
    return f"{pid}:{stat.rsplit(')', 1)[1].split()[19]}"


def is_running(identity: str) -> bool:
    pid, _, _ = identity.partition(":")
    return pid.isdigit() and process_identity(int(pid)) == identity


def processes_marked(name: str, value: str) -> list[int]:
    """This user's processes whose environment holds NAME=VALUE: how a process VSO started is
    found again when no record of it survived (the command that started it was killed)."""
    wanted, found = f"{name}={value}".encode(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found
