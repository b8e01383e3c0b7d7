"""The secrets VSO passes to deploy tools, and the one mask every captured output goes through.

Tokens live only in the environment of the process that runs `vso` (or Dagster). They reach a
child tool through its environment, and anything the tool prints is masked before VSO logs,
records or raises it, so a tool that echoes its token still leaks nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection

# Environment variables whose values must never be written anywhere.
SECRET_VARIABLES = ("HCLOUD_TOKEN", "TF_VAR_hcloud_token", "MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET",
                    "VSO_ALERT_WEBHOOK_URL")
MASK = "***"
# All that a slice's own code (its service, its job, its tests) gets of VSO's environment: enough to
# run Python and reach the network, and no token of any deploy tool or agent. An allow-list, so a
# secret VSO has never heard of stays out too.
SLICE_ENVIRONMENT = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "PYTHONPATH",
    "VIRTUAL_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
)


def slice_env(passed: Collection[str] = (), **extra: str) -> dict[str, str]:
    """The environment for a slice's code: the allow-list, the locale, the names the user passes
    (`[deploy] pass_env`), and what VSO tells it (VSO_BASE_URL, VSO_ENVIRONMENT, ...). It writes
    no bytecode: its directory may be a symlink to somewhere outside the project, and Python would
    write __pycache__ there."""
    return {**_allowed(passed), "PYTHONDONTWRITEBYTECODE": "1", **extra}


def tool_env(prefix: str, **extra: str) -> dict[str, str]:
    """The environment for one deploy tool (`terraform`, `modal`): the allow-list, the tool's own
    variables (by their prefix: TF_, MODAL_) and what VSO gives it; no other tool's token."""
    return {**_allowed(prefix=prefix), **extra}


def agent_env() -> dict[str, str]:
    """An agent's environment: VSO's own, less every deploy token. An agent runs commands of its
    own choosing, and needs its model's key (whose name VSO cannot know), never a cloud token."""
    return {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}


def _allowed(passed: Collection[str] = (), prefix: str | None = None) -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k in SLICE_ENVIRONMENT or k.startswith("LC_") or k in passed or (prefix and k.startswith(prefix))}


def known_secrets() -> list[str]:
    values = {os.environ.get(name, "") for name in SECRET_VARIABLES}
    # Longest first, so a secret that contains another is masked whole.
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def mask(text: str) -> str:
    for secret in known_secrets():
        text = text.replace(secret, MASK)
    return text


class MaskSecrets(logging.Filter):
    """Masks known secrets in every record a log handler writes (defence in depth: the deploy
    runners already mask what their tools print)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
