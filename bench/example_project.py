"""A fresh git project holding an example spec, decomposed and committed: what the benchmarks start from."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from vso_dagster.core.base.project import Project
from vso_dagster.core.decomposition.decompose import (
    decompose_project,
)
from vso_dagster.core.decomposition.scaffold_project import init_project

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def committed_example(example: str) -> tuple[Project, dict]:
    root = Path(tempfile.mkdtemp(prefix=f"vso-bench-{example}-"))
    project = Project.at(root)
    subprocess.run(["git", "init", "-q", "--initial-branch=main", str(root)], check=True)
    init_project(project, "Bench")
    shutil.copy(EXAMPLES / f"{example}.md", project.master_spec)
    plan, _ = decompose_project(project)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "slices"],
                   check=True)
    return project, plan
