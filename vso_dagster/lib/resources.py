from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from ..core.logs import log_to_file
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
        with log_to_file(project, name):
            yield project
