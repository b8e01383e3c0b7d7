"""A slice in production goes home: its branch is merged into the watched branch.

Strategy (docs/keeping-in-sync.md): `git merge --no-ff` of the slice's branch into the watched
branch, in the project's own checkout, only when that checkout is on the watched branch and has no
uncommitted change in the slice's directory; git itself refuses to overwrite any other local change,
so nothing of the user's is touched. A merge that conflicts
is aborted, leaving the checkout as it was, and recorded as a conflict of kind "branch" for a
person to settle (`git merge BRANCH`, then `vso resolve SLICE --take slice`). Nothing is ever forced
and nothing is pushed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..base.config import load_config
from ..base.gitrun import IDENTITY, commit_of, current_branch, git, is_ancestor, run_git
from ..base.own_commits import commit_own_writes
from ..base.project import SLICES_DIR, Project
from ..base.state import now, set_branch_conflict
from ..base.worktrees import existing_worktree

log = logging.getLogger("vso.deploy")


@dataclass(frozen=True)
class MergeBack:
    result: str  # merged | up_to_date | conflict | skipped
    detail: str


def merge_slice_branch(project: Project, slice_id: str) -> MergeBack:
    worktree = existing_worktree(project, slice_id)
    target = load_config(project).sync_branch
    if worktree is None:
        return MergeBack("skipped", "no branch: the slice was never implemented")
    current = current_branch(project.root)
    if current != target:
        return MergeBack("skipped", f"the project's checkout is on {current or 'a detached HEAD'}, not {target}; "
                                    f"merge {worktree.branch} yourself")
    with project.lock("checkout"):  # slices deployed at once go home one at a time: one index, one HEAD
        return _merge(project, slice_id, worktree.branch, target)


def _merge(project: Project, slice_id: str, branch: str, target: str) -> MergeBack:
    slice_dir = f"{SLICES_DIR}/{slice_id}"
    # A regeneration VSO has not committed yet (the sensor's runs, say) is VSO's to commit.
    commit_own_writes(project, f"VSO: regenerated files, before {branch} goes home", [slice_id])
    if git(project.root, "status", "--porcelain", "--untracked-files=no", "--", slice_dir, check=False):
        return MergeBack("skipped", f"uncommitted changes in {slice_dir}; commit them, then merge "
                                    f"{branch} yourself (or deploy again)")
    if is_ancestor(project.root, branch, "HEAD"):
        return MergeBack("up_to_date", f"{branch} is already in {target}")
    merged = run_git(project.root, *IDENTITY, "merge", "--no-ff", "--no-edit", "-m",
                     f"Merge {branch}: {slice_id} serves in production", branch, text=True)
    if merged.returncode == 0:
        log.info("%s: merged %s into %s", slice_id, branch, target)
        set_branch_conflict(project, slice_id, None)
        return MergeBack("merged", f"{branch} merged into {target}")
    if not (project.root / ".git" / "MERGE_HEAD").exists() and not commit_of(project.root, "MERGE_HEAD"):
        # git refused to start (local changes the merge would overwrite): nothing to undo.
        return MergeBack("skipped", f"git would not merge {branch}: "
                                    f"{(merged.stderr or merged.stdout).strip().splitlines()[0]}")
    files = git(project.root, "diff", "--name-only", "--diff-filter=U", check=False).splitlines()
    git(project.root, "merge", "--abort", check=False)
    log.warning("%s: merging %s into %s conflicts in %s; aborted, recorded", slice_id, branch, target,
                ", ".join(files) or "(unknown files)")
    set_branch_conflict(project, slice_id, {
        "slice_id": slice_id, "kind": "branch", "path": branch, "files": files, "resolution": "manual",
        "reason": f"merging {branch} into {target} conflicts; run `git merge {branch}`, settle "
                  f"and commit, then `vso resolve {slice_id} --take slice`",
        "detected_at": now()})
    return MergeBack("conflict", f"{branch} conflicts with {target} in {', '.join(files)}; the merge was "
                                 f"aborted and recorded (`vso status`)")
