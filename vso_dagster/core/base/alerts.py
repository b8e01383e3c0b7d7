"""Telling people when something broke: one message per incident, to a webhook that takes Slack's
JSON (`{"text": ...}`; Slack, Mattermost, Rocket.Chat and most chat tools accept it).

An incident is a failed run, or a check that went from passing (or never run) to failing on one
slice. A check that fails again before it passes is the same incident and says nothing more; a
pass closes it, and says so (the slice recovered, or was redeployed and answers). Every message
goes through the secrets mask, and the webhook's own URL (a secret, for Slack) is never part of one."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from .secrets import mask

# Where the webhook's URL comes from when it must not be committed (a Slack URL is a credential).
WEBHOOK_ENV = "VSO_ALERT_WEBHOOK_URL"
POST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Finding:
    """What one finished run showed: a run that failed, or a check's result on one slice."""

    key: str  # "run:<run id>" or "check:<asset>:<check>:<slice>"
    failed: bool
    text: str  # the message, if this opens an incident (or, passing, closes one)


def new_incidents(open_keys: Iterable[str], findings: Iterable[Finding]) -> tuple[list[Finding], list[str]]:
    """The findings to tell: each that opens an incident (one with no text opens it silently:
    another message tells it) and each that closes one; and the incidents open afterwards."""
    still_open = dict.fromkeys(open_keys)
    told = []
    for finding in findings:
        if not finding.failed:
            if finding.key in still_open:
                del still_open[finding.key]
                if finding.text:
                    told.append(finding)
        elif finding.key not in still_open:
            still_open[finding.key] = None
            if finding.text:
                told.append(finding)
    return told, [key for key in still_open if not key.startswith("run:")]  # a run fails only once


def webhook_url(configured: str) -> str:
    """$VSO_ALERT_WEBHOOK_URL, else [alerts] webhook_url; "" when neither is set."""
    return os.environ.get(WEBHOOK_ENV) or configured


def payload(text: str) -> bytes:
    return json.dumps({"text": mask(text)}).encode()


def post(url: str, text: str) -> str | None:
    """None once the webhook took the message; else why not (without the URL, which may be secret)."""
    try:
        request = urllib.request.Request(url, data=payload(text), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as answer:
            return None if 200 <= answer.status < 300 else f"the webhook answered HTTP {answer.status}"
    except urllib.error.HTTPError as error:
        return f"the webhook answered HTTP {error.code}"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError) as error:
        return f"the webhook could not be reached ({type(error).__name__})"
