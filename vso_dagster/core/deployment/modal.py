"""Platform `modal`: the slice's generated modal/app.py, deployed with the real `modal` CLI.

`modal deploy` runs with MODAL_ENVIRONMENT set (deployments/<env>/modal_config.json names the Modal
environment), the web endpoint URL is read from what it prints, and `modal app stop` tears it down.
Every call is bounded in time: without credentials the CLI fails at once, but with bad ones it
retries its connection for about a minute, and a real deploy builds an image first.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import VSOError
from ..base.names import modal_app_name
from ..base.project import Project
from ..base.secrets import mask, tool_env
from ..base.state import forget_deployment
from .deployments import Deployment, log, record, service_dir, wait_healthy

DEPLOY_TIMEOUT_S = 900.0
STOP_TIMEOUT_S = 120.0
HEALTH_TIMEOUT_S = 300.0  # a cold container starts on the first request
# `modal deploy` prints "Created web function serve" (and "… process") and each one's URL right after it.
WEB_URL = re.compile(r"Created web function serve\b.*?(https?://[^\s\]\[]+)", re.S)
PROCESS_URL = re.compile(r"Created web function process\b.*?(https?://[^\s\]\[]+)", re.S)
# What Modal accepts as the name of a secret or a volume.
MODAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NO_TOKEN = re.compile(r"token missing|could not authenticate|no token", re.I)
INSTALL_HINT = ("the `modal` CLI is not installed: `pip install 'vso-dagster[modal]'` (or `pip install modal`), "
                "then run again")
TOKEN_HINT = ("Modal has no credentials: run `modal token new` (or export MODAL_TOKEN_ID and MODAL_TOKEN_SECRET) "
              "in the shell that runs vso, then deploy again. Nothing was deployed")


@dataclass(frozen=True)
class ModalSettings:
    """deployments/<env>/modal_config.json, with defaults when it is missing."""

    modal_environment: str
    min_containers: int
    secrets: tuple[str, ...] = ()  # Modal secrets, by name, made beforehand with `modal secret create`
    volumes: tuple[tuple[str, str], ...] = ()  # (mount path, Modal volume name)

    @classmethod
    def load(cls, project: Project, environment: str) -> ModalSettings:
        path = project.root / "deployments" / environment / "modal_config.json"
        shown = project.relative(path)
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raw = {}
        except json.JSONDecodeError as exc:
            raise VSOError(f"{shown}:{exc.lineno}: not valid JSON ({exc.msg}); fix it") from None
        secrets, volumes = raw.get("secrets", []), raw.get("volumes", {})
        if not isinstance(secrets, list) or not all(isinstance(n, str) and MODAL_NAME.fullmatch(n) for n in secrets):
            raise VSOError(f'{shown}: "secrets" must be a list of Modal secret names (letters, digits, ".", "_", '
                           f'"-"), such as ["stripe-test"]; fix it')
        if not isinstance(volumes, dict) or not all(
                isinstance(p, str) and p.startswith("/") and isinstance(n, str) and MODAL_NAME.fullmatch(n)
                for p, n in volumes.items()):
            raise VSOError(f'{shown}: "volumes" must map absolute mount paths to Modal volume names, such as '
                           f'{{"/models": "model-weights"}}; fix it')
        return cls(str(raw.get("environment", environment)), int(raw.get("min_containers", 0)), tuple(secrets),
                   tuple(sorted(volumes.items())))


def modal_binary() -> str:
    """`modal` on PATH, else the one installed beside this Python (VSO's virtualenv)."""
    found = shutil.which("modal") or shutil.which("modal", path=str(Path(sys.executable).parent))
    if found is None:
        raise VSOError(INSTALL_HINT)
    return found


def app_file(project: Project, slice_id: str) -> Path:
    path = service_dir(project, slice_id).parent / "modal" / "app.py"
    if not path.exists():
        raise VSOError(f"{project.relative(path)}: this slice has no Modal app (VSO generates one for slices whose "
                       f"platform is modal); deploy it with --platform local or hetzner, or write that file")
    return path


def deploy_modal(project: Project, slice_id: str, environment: str, wiring: dict[str, str] | None = None,
                 health_timeout_s: float = HEALTH_TIMEOUT_S) -> Deployment:
    """`wiring` (VSO_DEP_<SLICE>_URL of each slice it calls) is in `modal deploy`'s environment, and
    app.py hands it to the function as a secret made from those values."""
    app = app_file(project, slice_id)
    settings = ModalSettings.load(project, environment)
    log.info(f"{slice_id}: modal deploy {project.relative(app)} (MODAL_ENVIRONMENT={settings.modal_environment})")
    output = _modal(project, settings, ["deploy", str(app)], DEPLOY_TIMEOUT_S, slice_id, wiring or {})
    log.info(f"{slice_id}: modal deploy said:\n{output.strip()}")  # one log event, already masked
    found = WEB_URL.search(output)
    if found is None:
        raise VSOError(f"{slice_id}: modal deploy printed no web endpoint URL; is `serve` still an "
                       f"@modal.asgi_app() in {project.relative(app)}? Output ended: {_tail(output)}")
    url = found.group(1).rstrip("/")
    if error := wait_healthy(url, health_timeout_s):
        raise VSOError(f"{slice_id}: deployed to Modal, but the endpoint is not healthy ({error}); state.json keeps "
                       f"the previous deployment. See `modal app logs {modal_app_name(slice_id)}`")
    process = PROCESS_URL.search(output)
    deployment = Deployment(slice_id, environment, "modal", url,
                            {"app": modal_app_name(slice_id), "modal_environment": settings.modal_environment,
                             "wiring": wiring or {}, **({"process_url": process.group(1)} if process else {})})
    record(project, deployment)
    return deployment


def destroy_modal(project: Project, slice_id: str, environment: str) -> bool:
    settings = ModalSettings.load(project, environment)
    log.info(f"{slice_id}: modal app stop {modal_app_name(slice_id)} (MODAL_ENVIRONMENT={settings.modal_environment})")
    _modal(project, settings, ["app", "stop", "--yes", modal_app_name(slice_id)], STOP_TIMEOUT_S, slice_id)
    return forget_deployment(project, slice_id, environment) is not None


def _modal(project: Project, settings: ModalSettings, args: list[str], timeout_s: float, slice_id: str,
           wiring: dict[str, str] | None = None) -> str:
    """Runs the modal CLI; its output, masked. Raises with the reason on failure or timeout."""
    env = tool_env("MODAL_", **(wiring or {}), MODAL_ENVIRONMENT=settings.modal_environment,
                   VSO_MODAL_MIN_CONTAINERS=str(settings.min_containers),
                   VSO_MODAL_SECRETS=json.dumps(settings.secrets), VSO_MODAL_VOLUMES=json.dumps(dict(settings.volumes)),
                   COLUMNS="400")  # no wrapped URL
    try:
        done = subprocess.run([modal_binary(), *args], cwd=project.root, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise VSOError(f"{slice_id}: modal {args[0]} did not finish within {timeout_s:.0f}s (no network, or Modal "
                       f"is unreachable); state.json is unchanged") from None
    output = mask(done.stdout + done.stderr)
    if done.returncode != 0:
        if NO_TOKEN.search(output):
            raise VSOError(TOKEN_HINT)
        raise VSOError(f"{slice_id}: modal {' '.join(args[:2])} failed (exit {done.returncode}): {_tail(output)}")
    return output


def _tail(output: str, lines: int = 8) -> str:
    return "\n".join(output.strip().splitlines()[-lines:]) or "(no output)"
