"""`vso init`: the managed project's layout. Creates what is missing and never overwrites a file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import git

from .project import Project
from .templating import render

# Hetzner server types per environment (cx22: 2 vCPU/4 GB for tests; cx32: 4 vCPU/8 GB for production).
SERVER_TYPES = {"test": "cx22", "production": "cx32"}
GITIGNORE_MARK = "# --- VSO ---"


def init_project(project: Project, title: str, author: str = "Team") -> list[str]:
    """Returns the paths it created or changed, relative to the root."""
    created: list[str] = []
    project.root.mkdir(parents=True, exist_ok=True)
    if _inside_git_repo(project.root) is None:
        git.Repo.init(project.root)
        created.append(".git/")
    files = {
        project.master_spec: lambda: render("project/master-spec.md.j2", title=title, author=author,
                                            today=dt.date.today().isoformat()),
    }
    for env, server_type in SERVER_TYPES.items():
        base = project.root / "deployments" / env
        files[base / "terraform.tfvars"] = lambda e=env, t=server_type: render(
            "project/terraform.tfvars.j2", environment=e, server_type=t)
        files[base / "modal_config.json"] = lambda e=env: render(
            "project/modal_config.json.j2", environment=e, min_containers=1 if e == "production" else 0)
    for path, content in files.items():
        if not path.exists():
            project.write(path, content())
            created.append(project.relative(path))
    for directory in (project.slices_dir, project.logs_dir):
        if not directory.exists():
            project.inside(directory).mkdir(parents=True)
            created.append(project.relative(directory) + "/")
    if _extend_gitignore(project):
        created.append(".gitignore")
    return created


def _inside_git_repo(path: Path) -> git.Repo | None:
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def _extend_gitignore(project: Project) -> bool:
    path = project.root / ".gitignore"
    existing = path.read_text() if path.exists() else ""
    if GITIGNORE_MARK in existing:
        return False
    separator = "" if not existing or existing.endswith("\n") else "\n"
    project.write(path, existing + separator + render("project/gitignore.j2"))
    return True
