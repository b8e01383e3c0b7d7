from __future__ import annotations

import os
from pathlib import Path

from ..core.base.project import Project
from ..core.base.templating import render

DEFAULT_MAX_CONCURRENT_RUNS = 4
DEFAULT_IMPLEMENTATION_LIMIT = 2


def use_project_instance(project: Project) -> Path:
    """Points this process (and what it starts) at the project's Dagster instance.

    DAGSTER_HOME defaults to `.slice-orchestrator/dagster` inside the project; a DAGSTER_HOME the
    user exported wins and is used as it is (VSO writes nothing outside the project). The project's
    own dagster.yaml is written once from the template and never overwritten, so edits to it stay.
    """
    exported = os.environ.get("DAGSTER_HOME")
    home = Path(exported).resolve() if exported else project.dagster_home
    if not exported:
        config = home / "dagster.yaml"
        if not config.exists():
            project.write(config, render("project/dagster.yaml.j2", dagster_home=project.relative(home),
                                         max_concurrent_runs=DEFAULT_MAX_CONCURRENT_RUNS,
                                         implementation_limit=DEFAULT_IMPLEMENTATION_LIMIT))
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["VSO_PROJECT_ROOT"] = str(project.root)
    return home
