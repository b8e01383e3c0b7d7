"""One git branch and worktree per slice, so two teams never share a working directory.

The branch is named `slice-NNN-name-vX.Y.Z`, and starts from the project's
HEAD, which must hold the slice's committed spec and tests. git runs with argv lists only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import VSOError
from .gitrun import IDENTITY, commit_of, git, head_commit, run_git
from .project import SLICES_DIR, Project


@dataclass(frozen=True)
class Worktree:
    slice_id: str
    branch: str
    path: Path
    base: str  # the commit the branch started from
    # Files the merge of a newer spec into the branch left with conflict markers, for the team to settle.
    conflicted: tuple[str, ...] = ()

    @property
    def slice_dir(self) -> Path:
        return self.path / SLICES_DIR / self.slice_id


def branch_name(slice_id: str, version: str) -> str:
    return f"{slice_id}-v{version}"


def branch_version(branch: str) -> str | None:
    """The slice version a branch was made for (`slice-001-auth-v1.0.1` -> 1.0.1): the spec it holds."""
    _, sep, version = branch.rpartition("-v")
    return version if sep and version[:1].isdigit() else None


def ensure_worktree(project: Project, slice_id: str, version: str) -> Worktree:
    """The slice's worktree on its branch, created from HEAD the first time."""
    top = git(project.root, "rev-parse", "--show-toplevel", check=False)
    if not top or Path(top).resolve() != project.root:
        raise VSOError(f"{project.root}: not the top of a git repository; run `vso init` (or `git init`) there")
    head = head_commit(project.root)
    if not head:
        raise VSOError(f"{project.root}: the git repository has no commit yet; commit master-spec.md and "
                       "vertical-slices/ so the slice's branch can start from them")
    rel = f"{SLICES_DIR}/{slice_id}"
    if not git(project.root, "ls-tree", "--name-only", "HEAD", rel, check=False):
        raise VSOError(f"{rel}: not committed; commit the slice (git add {rel} && git commit) so its branch "
                       "starts from its spec and tests")
    branch = branch_name(slice_id, version)
    path = project.make_dir(project.state_dir / "worktrees") / slice_id
    project.inside(path)
    conflicted: tuple[str, ...] = ()
    if (path / ".git").exists():
        current = git(path, "rev-parse", "--abbrev-ref", "HEAD")
        if current != branch:
            conflicted = _advance(path, slice_id, current, branch, head)
    elif commit_of(project.root, f"refs/heads/{branch}"):
        git(project.root, "worktree", "add", str(path), branch)
    else:
        git(project.root, "worktree", "add", "-b", branch, str(path), "HEAD")
    base = git(project.root, "merge-base", "HEAD", branch)
    return Worktree(slice_id, branch, path, base, conflicted)


def _advance(path: Path, slice_id: str, current: str, branch: str, head: str) -> tuple[str, ...]:
    """The slice's spec has a new version: its new branch starts from the old one (the work done so
    far) and merges the project's HEAD (the new spec and tests). Files that conflict are committed
    with their markers, for the team (or the scaffold agent, which rewrites the service) to settle."""
    if git(path, "status", "--porcelain", check=False):
        raise VSOError(f"{path}: uncommitted work on {current}; commit or discard it before the slice moves to "
                       f"{branch}")
    if commit_of(path, f"refs/heads/{branch}"):
        git(path, "checkout", "--quiet", branch)  # made already (by a run on another machine): it holds the work
        return ()
    git(path, "checkout", "--quiet", "-b", branch)
    merged = run_git(path, *IDENTITY, "merge", "--no-ff", "--no-edit", "-m",
                     f"{slice_id}: new spec from {head[:12]} (was {current})", head, text=True)
    if merged.returncode == 0:
        return ()
    conflicted = tuple(git(path, "diff", "--name-only", "--diff-filter=U").splitlines())
    if not conflicted:
        raise VSOError(f"git merge failed in {path}: {merged.stderr.strip() or merged.stdout.strip()}")
    git(path, "add", "--all")
    git(path, *IDENTITY, "commit", "--quiet", "-m",
        f"{slice_id}: new spec from {head[:12]}; conflicts left to settle in {', '.join(conflicted)}")
    return conflicted


def existing_worktree(project: Project, slice_id: str) -> Worktree | None:
    """The slice's worktree if a team has started on it, without creating anything."""
    path = project.state_dir / "worktrees" / slice_id
    if not (path / ".git").exists():
        return None
    branch = git(path, "rev-parse", "--abbrev-ref", "HEAD")
    return Worktree(slice_id, branch, path, git(project.root, "merge-base", "HEAD", branch))


def commit_all(worktree: Worktree, message: str) -> str | None:
    """Commits everything changed in the slice's directory; returns the new head, or None if nothing changed."""
    rel = f"{SLICES_DIR}/{worktree.slice_id}"
    git(worktree.path, "add", "--all", "--", rel)
    if not uncommitted(worktree):
        return None
    git(worktree.path, *IDENTITY, "commit", "--quiet", "-m", message)
    return git(worktree.path, "rev-parse", "HEAD")


def head(worktree: Worktree) -> str:
    return git(worktree.path, "rev-parse", "HEAD")


def uncommitted(worktree: Worktree) -> list[str]:
    """Changed or new files in the slice's directory on its branch (ignored ones aside)."""
    return git(worktree.path, "status", "--porcelain", "--", f"{SLICES_DIR}/{worktree.slice_id}").splitlines()


def diff_stats(worktree: Worktree) -> dict[str, int]:
    """Files, insertions and deletions on the branch since it left the base."""
    files = insertions = deletions = 0
    for line in git(worktree.path, "diff", "--numstat", f"{worktree.base}..HEAD").splitlines():
        added, removed, _ = line.split("\t", 2)
        files += 1
        insertions += int(added) if added.isdigit() else 0
        deletions += int(removed) if removed.isdigit() else 0
    return {"files": files, "insertions": insertions, "deletions": deletions}
