from __future__ import annotations

import os
from pathlib import Path

from ..core.base.project import Project
from ..core.base.templating import render
from .code_location import DEFINITIONS_MODULE, LOCATION_NAME

DEFAULT_MAX_CONCURRENT_RUNS = 4
DEFAULT_IMPLEMENTATION_LIMIT = 2


def use_project_instance(project: Project) -> Path:
    """Points this process (and what it starts) at the project's Dagster instance and workspace.

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
    project_workspace(project)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["VSO_PROJECT_ROOT"] = str(project.root)
    return home


def project_workspace(project: Project) -> Path:
    """`.slice-orchestrator/dagster/workspace.yaml` (beside the instance, unless DAGSTER_HOME is
    exported elsewhere; git ignores that folder), rewritten whenever it is not what VSO would write:
    VSO owns it, and a project moved to another directory gets the new path."""
    path = project.dagster_home / "workspace.yaml"
    text = render("project/workspace.yaml.j2", shown_path=project.relative(path), module_name=DEFINITIONS_MODULE,
                  location_name=LOCATION_NAME, working_directory=str(project.root))
    if not path.exists() or path.read_text() != text:
        project.write(path, text)
    return path
