"""STAND-IN for Modal's `modal` CLI: Modal's API cannot be reached from this machine.

It answers the two commands VSO's Modal runner uses, and nothing else:
- `modal deploy APP_FILE` serves APP_FILE's ../service with uvicorn on loopback (standing in for
  Modal's web endpoint) and prints what the real CLI prints, URL on the line after "Created web
  function";
- `modal app stop --yes APP` stops what the deploy of APP started, in the same MODAL_ENVIRONMENT.
Each call appends {argv, MODAL_ENVIRONMENT, VSO_MODAL_MIN_CONTAINERS, VSO_MODAL_SECRETS, VSO_MODAL_VOLUMES,
token_given, env_names} as a JSON line to
$MODAL_STANDIN_LOG. It also prints its token ID, as a careless tool might, so that tests prove VSO
masks whatever a tool prints.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ["MODAL_STANDIN_STATE"])


def main(argv: list[str]) -> int:
    env_name = os.environ.get("MODAL_ENVIRONMENT", "main")
    with open(os.environ["MODAL_STANDIN_LOG"], "a") as log:
        log.write(json.dumps({"argv": argv, "MODAL_ENVIRONMENT": os.environ.get("MODAL_ENVIRONMENT"),
                              "VSO_MODAL_MIN_CONTAINERS": os.environ.get("VSO_MODAL_MIN_CONTAINERS"),
                              "VSO_MODAL_SECRETS": os.environ.get("VSO_MODAL_SECRETS"),
                              "VSO_MODAL_VOLUMES": os.environ.get("VSO_MODAL_VOLUMES"),
                              "token_given": bool(os.environ.get("MODAL_TOKEN_ID")),
                              "env_names": sorted(os.environ)}) + "\n")
    print(f"Using token {os.environ.get('MODAL_TOKEN_ID', '(none)')} (stand-in)")
    if argv[:1] == ["deploy"]:
        return deploy(Path(argv[1]), env_name)
    if argv[:2] == ["app", "stop"]:
        return stop(argv[-1], env_name)
    print(f"stand-in modal: unsupported command {argv}", file=sys.stderr)
    return 2


def deploy(app_file: Path, env_name: str) -> int:
    name = re.search(r"modal\.App\((['\"])(.+?)\1", app_file.read_text())[2]
    stop(name, env_name, quiet=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port",
                                str(port), "--log-level", "warning"], cwd=app_file.parent.parent / "service",
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / f"{env_name}__{name}.pid").write_text(str(process.pid))
    print("✓ Created objects.")
    print("├── 🔨 Created mount /root/slice_service")
    print("├── 🔨 Created web function process =>")  # printed first: the URL VSO serves from is serve's
    print(f"    https://stand-in--{name}-process.modal.run")
    print("└── 🔨 Created web function serve =>")
    print(f"    http://127.0.0.1:{port}")
    print(f"✓ App deployed in 0.4s! 🎉\n\nView Deployment: https://modal.com/apps/stand-in/{env_name}/deployed/{name}")
    return 0


def stop(name: str, env_name: str, quiet: bool = False) -> int:
    pid_file = STATE / f"{env_name}__{name}.pid"
    if not pid_file.exists():
        if quiet:
            return 0
        print(f"Error: Could not find a deployed app named '{name}'.", file=sys.stderr)
        return 1
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for _ in range(200):  # like Modal, return once the containers are gone
        if not Path(f"/proc/{pid}").exists() or b"uvicorn" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            break
        time.sleep(0.05)
    pid_file.unlink()
    if not quiet:
        print(f"App {name} stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
