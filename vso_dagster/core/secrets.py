"""The secrets VSO passes to deploy tools, and the one mask every captured output goes through.

Tokens live only in the environment of the process that runs `vso` (or Dagster). They reach a
child tool through its environment, and anything the tool prints is masked before VSO logs,
records or raises it, so a tool that echoes its token still leaks nothing.
"""

from __future__ import annotations

import logging
import os

# Environment variables whose values must never be written anywhere.
SECRET_VARIABLES = ("HCLOUD_TOKEN", "TF_VAR_hcloud_token", "MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET")
MASK = "***"


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
