"""VSO commits what VSO wrote, and nothing else (docs/keeping-in-sync.md, "Who commits what").

A regeneration (slice files, plan.json, the kept bases in generated/, the master's generated
section) left uncommitted keeps the tree dirty and stops a slice's branch from going home. So VSO
commits it, as "VSO <vso@localhost>", with hooks off, on the watched branch only, and path by path:
a file goes in only when its content is exactly what VSO last wrote for it (a slice file's recorded
hash; the master only when VSO's change sits on the committed text). A file that also holds someone's
uncommitted change, and everything VSO did not write, stays as it is for its owner to commit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import PurePosixPath

from .config import load_config
from .gitrun import IDENTITY, commit_of, current_branch, git, head_commit, run_git
from .project import MASTER_SPEC, PROPOSAL_SUFFIX, SLICES_DIR, STATE_DIR, Project, file_hash, sha256_bytes
from .state import load_state

# VSO's own bookkeeping that belongs in git; nobody else writes these.
OWN_FILES = (f"{STATE_DIR}/plan.json", f"{STATE_DIR}/generated")
# Written by VSO only when missing (`vso init`, the first plan); once there, they are the user's.
CREATED_ONCE = ("deployments",)


@dataclass(frozen=True)
class OwnCommit:
    sha: str | None = None
    paths: tuple[str, ...] = ()
    left: tuple[str, ...] = ()  # VSO wrote into them, but they hold changes that are not VSO's
    skipped: str | None = None  # why nothing was committed at all

    def summary(self) -> str:
        if self.skipped:
            return f"VSO's own writes not committed: {self.skipped}"
        done = f"committed {len(self.paths)} files VSO wrote ({self.sha[:12]})" if self.sha else "nothing to commit"
        return done + (f"; left for you to commit: {', '.join(self.left[:5])}" if self.left else "")


def commit_own_writes(project: Project, message: str, slice_ids: Collection[str] | None = None) -> OwnCommit:
    """`slice_ids`: the slices whose files VSO may have written in this step (None: any slice); the
    master, plan.json, generated/ and deployments/ are always looked at. Looking at one slice instead
    of 1,000 saves `git status` a walk over 11,000 files."""
    config = load_config(project)
    if not config.commit_own_writes:
        return OwnCommit(skipped="[sync] commit = false in .slice-orchestrator/config.toml")
    if not head_commit(project.root):
        return OwnCommit(skipped="the repository has no commit yet (the first commit is yours)")
    branch = current_branch(project.root)
    if branch != config.sync_branch:
        return OwnCommit(skipped=f"the checkout is on {branch or 'a detached HEAD'}, not {config.sync_branch}")
    if commit_of(project.root, "MERGE_HEAD"):
        return OwnCommit(skipped="a merge is in progress")
    mine, left = [], []
    state = load_state(project)
    for status, path in _dirty(project, slice_ids):
        (mine if _written_by_vso(project, state, status, path) else left).append(path)
    if not mine:
        return OwnCommit(left=tuple(left))
    git(project.root, "add", "--all", "--", *mine)
    git(project.root, *IDENTITY, "commit", "--quiet", "-m", message, "--", *mine)  # these paths, whatever is staged
    return OwnCommit(git(project.root, "rev-parse", "HEAD"), tuple(mine), tuple(left))


def _dirty(project: Project, slice_ids: Collection[str] | None) -> list[tuple[str, str]]:
    """(status, path) of every changed or new file where VSO writes, from `git status --porcelain -z`."""
    slices = [SLICES_DIR] if slice_ids is None else [f"{SLICES_DIR}/{sid}" for sid in slice_ids]
    done = run_git(project.root, "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--",
                   MASTER_SPEC, *slices, *OWN_FILES, *CREATED_ONCE, text=True, check=True)
    return [(entry[:2], entry[3:]) for entry in done.stdout.split("\0") if entry]


def _written_by_vso(project: Project, state: dict, status: str, path: str) -> bool:
    if "U" in status or status in ("AA", "DD") or path.endswith(PROPOSAL_SUFFIX):
        return False  # a conflict waiting for a person is theirs to settle
    if path.startswith(OWN_FILES):
        return True
    if path.startswith(CREATED_ONCE):
        return status == "??"
    if path == MASTER_SPEC:
        return _own_master_change(project, state)
    parts = PurePosixPath(path).parts
    if len(parts) < 3 or parts[0] != SLICES_DIR:
        return False
    recorded = state["slices"].get(parts[1], {}).get("files", {})
    rel = "/".join(parts[2:])
    current = file_hash(project.root / path, project.root)
    if current is None:  # deleted: VSO removes a file only when it no longer generates it
        return rel not in recorded
    return recorded.get(rel) == current


def _own_master_change(project: Project, state: dict) -> bool:
    record = state.get("master_spec") or {}
    committed = run_git(project.root, "show", f"HEAD:{MASTER_SPEC}")
    return (committed.returncode == 0 and record.get("written_over") == sha256_bytes(committed.stdout)
            and record.get("written") == file_hash(project.master_spec, project.root))
