"""VSO's own line-by-line log, kept in `.slice-orchestrator/logs/<name>.log` beside Dagster's run logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from .project import Project
from .secrets import MaskSecrets


@contextmanager
def log_to_file(project: Project, name: str) -> Iterator[logging.Logger]:
    """While inside, everything logged under the `vso` logger also goes to the project's log file."""
    path = project.make_dir(project.logs_dir) / f"{name}.log"
    handler = logging.FileHandler(project.inside(path))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(MaskSecrets())
    logger = logging.getLogger("vso")
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        handler.close()
