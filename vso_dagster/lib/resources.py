from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from ..core.base.logs import log_to_file
from ..core.base.project import Project
from ..core.base.secrets import MaskSecrets


class VSOProject(dg.ConfigurableResource):
    """The managed project: `root`, else $VSO_PROJECT_ROOT, else the working directory."""

    root: str | None = None

    def project(self) -> Project:
        return Project.at(self.root or os.environ.get("VSO_PROJECT_ROOT") or os.getcwd())

    @contextmanager
    def log_to(self, name: str, context: dg.OpExecutionContext | None = None) -> Iterator[Project]:
        """Also writes VSO's own log lines to `.slice-orchestrator/logs/<name>.log` while the step runs,
        and, given the step's context, to its Dagster run log (one event per line: for steps that log
        a few lines, not a stream)."""
        project = self.project()
        with log_to_file(project, name) as logger:
            forward = _RunLog(context) if context is not None else None
            if forward:
                logger.addHandler(forward)
            try:
                yield project
            finally:
                if forward:
                    logger.removeHandler(forward)


class _RunLog(logging.Handler):
    def __init__(self, context: dg.OpExecutionContext):
        super().__init__(logging.INFO)
        self.context = context
        self.addFilter(MaskSecrets())

    def emit(self, record: logging.LogRecord) -> None:
        self.context.log.log(record.levelno, record.getMessage())
