"""`vso init`: the managed project's layout. Creates what is missing and never overwrites a file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..base.config import project_socket
from ..base.gitrun import git, run_git
from ..base.project import Project
from ..base.templating import render

# Hetzner server types per environment: cx23 (2 vCPU, 4 GB) for tests, cx33 (4 vCPU, 8 GB) for
# production. The older cx11/cx31 are retired; README "Platforms" says how to pick others.
SERVER_TYPES = {"test": "cx23", "production": "cx33"}
GITIGNORE_MARK = "# --- VSO ---"


def init_project(project: Project, title: str, author: str = "Team") -> list[str]:
    """Returns the paths it created or changed, relative to the root."""
    created: list[str] = []
    project.root.mkdir(parents=True, exist_ok=True)
    if not _inside_git_repo(project.root):
        git(project.root, "init", "--quiet", "--initial-branch=main")
        created.append(".git/")
    if not project.master_spec.exists():
        project.write(project.master_spec, render("project/master-spec.md.j2", title=title, author=author,
                                                  today=dt.date.today().isoformat()))
        created.append(project.relative(project.master_spec))
    created += ensure_deployment_configs(project)
    config = project.state_dir / "config.toml"
    if not config.exists():
        project.write(config, render("project/config.toml.j2", socket=project_socket(project)))
        created.append(project.relative(config))
    for directory in (project.slices_dir, project.logs_dir):
        if not directory.exists():
            project.make_dir(directory)
            created.append(project.relative(directory) + "/")
    if _extend_gitignore(project):
        created.append(".gitignore")
    return created


def _inside_git_repo(path: Path) -> bool:
    return run_git(path, "rev-parse", "--git-dir").returncode == 0


def _extend_gitignore(project: Project) -> bool:
    """Adds VSO's block, or in a project from an older VSO the block's lines that are missing."""
    path = project.root / ".gitignore"
    existing = path.read_text() if path.exists() else ""
    wanted = render("project/gitignore.j2")
    if GITIGNORE_MARK in existing:
        present = set(existing.splitlines())
        wanted = "".join(line + "\n" for line in wanted.splitlines()
                         if line not in present and line.strip() and not line.startswith("#"))
        if not wanted:
            return False
    separator = "" if not existing or existing.endswith("\n") else "\n"
    project.write(path, existing + separator + wanted)
    return True


def ensure_deployment_configs(project: Project) -> list[str]:
    """`deployments/{test,production}/`: Terraform variables and Modal settings per environment,
    created when missing and never overwritten (they hold no secrets, so they belong in git)."""
    created = []
    for env, server_type in SERVER_TYPES.items():
        wanted = {
            "terraform.tfvars": ("project/terraform.tfvars.j2", {"server_type": server_type}),
            "modal_config.json": ("project/modal_config.json.j2", {"min_containers": int(env == "production")}),
        }
        for name, (template, context) in wanted.items():
            path = project.root / "deployments" / env / name
            if not path.exists():
                project.write(path, render(template, environment=env, **context))
                created.append(project.relative(path))
    return created
