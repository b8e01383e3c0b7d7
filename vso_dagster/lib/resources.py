from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from ..core.project import Project


class VSOProject(dg.ConfigurableResource):
    """The managed project: `root`, else $VSO_PROJECT_ROOT, else the working directory."""

    root: str | None = None

    def project(self) -> Project:
        return Project.at(self.root or os.environ.get("VSO_PROJECT_ROOT") or os.getcwd())

    @contextmanager
    def log_to(self, name: str) -> Iterator[Project]:
        """Also writes VSO's own log lines to `.slice-orchestrator/logs/<name>.log` while the step runs."""
        project = self.project()
        project.logs_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(project.inside(project.logs_dir / f"{name}.log"))
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger = logging.getLogger("vso")
        logger.addHandler(handler)
        previous_level = logger.level
        logger.setLevel(logging.INFO)
        try:
            yield project
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous_level)
            handler.close()
