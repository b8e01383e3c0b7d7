"""Every git call VSO makes, with argv lists and a clean git environment.

git exports GIT_DIR, GIT_INDEX_FILE and friends to the hooks it runs. A process a hook starts
(`vso sync --background` from post-commit) inherits them, and every git call it then makes in
another repository or worktree goes to the hook's repository instead, or fails
(`index.lock: Not a directory`). So no git call VSO makes sees them, and neither does a child VSO
starts in the background.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .errors import VSOError

# What `git rev-parse --local-env-vars` prints (git 2.39): the variables that tie a git process
# to one repository. git itself clears them before it works in a submodule.
REPOSITORY_LOCAL_VARS = frozenset((
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX",
    "GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE", "GIT_COMMON_DIR",
))
# What git also exports to hooks: who made the commit that ran the hook. They would override the
# identity VSO gives its own commits.
COMMIT_IDENTITY_VARS = frozenset(f"GIT_{who}_{what}" for who in ("AUTHOR", "COMMITTER")
                                 for what in ("NAME", "EMAIL", "DATE"))
# VSO's own commits (regenerations, merges home, a new spec merged into a slice's branch), with no
# hook: the project's post-commit hook would start a sync for each, worktree commits included.
IDENTITY = ("-c", "user.name=VSO", "-c", "user.email=vso@localhost", "-c", "core.hooksPath=/dev/null")


def clean_env() -> dict[str, str]:
    """This process's environment without what git exports to hooks: the repository-local variables
    and the identity of the commit that ran the hook."""
    return {k: v for k, v in os.environ.items()
            if k not in REPOSITORY_LOCAL_VARS and k not in COMMIT_IDENTITY_VARS
            and not k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))}


def run_git(cwd: Path | None, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """`git -C cwd ARGS` (no -C when cwd is None), captured, in a clean git environment."""
    where = ["-C", str(cwd)] if cwd is not None else []
    kwargs.setdefault("capture_output", True)
    return subprocess.run(["git", *where, *args], env=clean_env(), **kwargs)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = run_git(cwd, *args, text=True)
    if check and done.returncode != 0:
        raise VSOError(f"git {' '.join(args[:2])} failed in {cwd}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def is_ancestor(cwd: Path, older: str, newer: str) -> bool:
    """`older` is reachable from `newer` (a branch already merged, a cursor still on its branch)."""
    return run_git(cwd, "merge-base", "--is-ancestor", older, newer).returncode == 0


def commit_of(cwd: Path, ref: str) -> str:
    """The commit `ref` names (a branch, a remote branch, MERGE_HEAD); "" when it names none."""
    return git(cwd, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)


def head_commit(cwd: Path) -> str:
    """HEAD's commit; "" in a repository with no commit yet (or outside one)."""
    return commit_of(cwd, "HEAD")


def current_branch(cwd: Path) -> str:
    """The branch the checkout is on; "" on a detached HEAD."""
    return git(cwd, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)


def head_or_empty_tree(cwd: Path) -> str | None:
    """HEAD's commit; git's empty tree in a repository with no commit yet (everything after it is
    new); None outside a git repository."""
    if head := head_commit(cwd):
        return head
    empty = run_git(cwd, "hash-object", "-t", "tree", "/dev/null", text=True)
    inside = run_git(cwd, "rev-parse", "--git-dir").returncode == 0
    return empty.stdout.strip() if inside and empty.returncode == 0 else None


def is_tree(cwd: Path, name: str) -> bool:
    return run_git(cwd, "cat-file", "-t", name, text=True).stdout.strip() == "tree"
