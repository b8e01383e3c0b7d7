"""STAND-IN for a Hetzner server's boot: what the generated user-data.sh does, on loopback.

The stand-in Terraform module (test_platforms.py) runs this from a local-exec provisioner, because
no real server can be created here. It fetches the project from repo_url at git_ref the way
user-data.sh does (init, fetch the SHA, detached checkout), then starts the slice's service from
that checkout, detached, so the health check VSO waits for reaches the code the server fetched.

    standin_server.py start REPO_URL GIT_REF SLICE_ID CHECKOUT PORT BOOT_SECONDS
    standin_server.py stop CHECKOUT
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def start(repo_url: str, git_ref: str, slice_id: str, checkout: Path, port: str, boot_s: float) -> None:
    stop(checkout)
    shutil.rmtree(checkout, ignore_errors=True)
    for argv in (["init", "--quiet", str(checkout)],
                 ["-C", str(checkout), "fetch", "--quiet", "--depth", "1", repo_url, git_ref],
                 ["-C", str(checkout), "checkout", "--quiet", "--detach", "FETCH_HEAD"]):
        subprocess.run(["git", *argv], check=True)
    service = checkout / "vertical-slices" / slice_id / "service"
    with open(checkout.parent / f"{checkout.name}.log", "ab") as log:
        log.write(f"stand-in server created at {git_ref}\n".encode())
        log.flush()
        process = subprocess.Popen([sys.executable, "-m", "uvicorn", "main:app", "--port", port], cwd=service,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    (checkout.parent / f"{checkout.name}.pid").write_text(str(process.pid))
    time.sleep(boot_s)  # created, and the "API call" still waits for it to run


def stop(checkout: Path) -> None:
    pid_file = checkout.parent / f"{checkout.name}.pid"
    if pid_file.exists():
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass
        pid_file.unlink()


if __name__ == "__main__":
    # local-exec appends its `command` as the last argument: the action.
    *args, action = sys.argv[1:]
    if action == "start":
        repo_url, git_ref, slice_id, checkout, port, boot_s = args
        start(repo_url, git_ref, slice_id, Path(checkout), port, float(boot_s))
    else:
        stop(Path(args[0]))
