"""How far a long loop of the core has got, as records on the `vso.progress` logger.

Whoever shows progress (the `vso` command, while a run executes in its process) listens there. The
records never reach VSO's log files or Dagster's run logs, and with no listener a step costs one
attribute check."""

from __future__ import annotations

import logging

log = logging.getLogger("vso.progress")
log.setLevel(logging.DEBUG)
log.propagate = False


def step(phase: str, done: int, total: int) -> None:
    if log.handlers:
        log.debug(phase, extra={"vso_done": done, "vso_total": total})
