"""`vso hooks install|uninstall`: the post-commit and pre-push hooks, from templates/hooks/.

A hook VSO did not write is never replaced: the user is told what line to add to it instead.
"""

from __future__ import annotations

from pathlib import Path

from ..base.errors import VSOError
from ..base.gitrun import git
from ..base.project import Project
from ..base.templating import render

HOOKS = ("post-commit", "pre-push")
MARKER = "VSO {name} hook"


def hooks_dir(project: Project) -> Path:
    path = git(project.root, "rev-parse", "--git-path", "hooks", check=False)
    if not path:
        raise VSOError(f"{project.root}: not a git repository; run `vso init` (or `git init`) there first")
    return project.inside((project.root / path).resolve())  # hooks outside the project are not VSO's to write


def install_hooks(project: Project, vso: str) -> list[Path]:
    target = hooks_dir(project)
    wanted = {name: render(f"hooks/{name}.j2", vso=vso, root=project.root) for name in HOOKS}
    for name in HOOKS:
        path = target / name
        if path.exists() and MARKER.format(name=name) not in path.read_text(errors="replace"):
            line = wanted[name].strip().splitlines()[-1]
            raise VSOError(f"{path}: a {name} hook that VSO did not write is already there; VSO leaves it alone. "
                           f"Add this line to it yourself: {line}")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in wanted.items():
        path = target / name
        path.write_text(text)
        path.chmod(0o755)
        written.append(path)
    return written


def uninstall_hooks(project: Project) -> list[Path]:
    removed = []
    for name in HOOKS:
        path = hooks_dir(project) / name
        if path.exists() and MARKER.format(name=name) in path.read_text(errors="replace"):
            path.unlink()
            removed.append(path)
    return removed
