"""What a range of commits on the watched branch changed, mapped to the work it makes stale.

`git diff --name-only OLD NEW` compares two trees, so a tick costs time in proportion to what the
new commits changed, never to the length of the history. A cursor that is no longer an ancestor
of the branch (history rewritten: rebase, reset, force-push) is diffed from the merge base.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import VSOError
from ..base.gitrun import commit_of, git, is_ancestor, is_tree, run_git
from ..base.project import MASTER_SPEC, PROPOSAL_SUFFIX, SLICES_DIR, Project, sha256_bytes
from ..base.worktrees import existing_worktree


@dataclass(frozen=True)
class Changes:
    head: str
    since: str | None  # the commit diffed from; None on the first look (a baseline, no work)
    rewritten: bool = False  # the cursor was not an ancestor of head: diffed from the merge base
    master_changed: bool = False
    edited_slices: tuple[str, ...] = ()  # slices whose files were changed by someone other than VSO
    paths: tuple[str, ...] = field(default=(), repr=False)


def branch_head(project: Project, branch: str) -> str:
    sha = commit_of(project.root, f"refs/heads/{branch}")
    if not sha:
        raise VSOError(f"{project.root}: no branch {branch!r} to watch; set [sync] branch in "
                       f".slice-orchestrator/config.toml to the branch your master spec lives on")
    return sha


def first_cursor(state: dict) -> str | None:
    """Where watching starts when nothing was processed yet: the commit the slices were last generated
    from (git's empty tree when that was before the first commit), so commits made between the
    decomposition and the first sync are not skipped. None before any decomposition: a baseline."""
    return (state.get("master_spec") or {}).get("generated_from")


def changes_since(project: Project, cursor: str | None, branch: str, recorded: dict[str, dict]) -> Changes:
    """`recorded`: state.json's slices, whose file hashes tell VSO's own writes from edits. `cursor`
    is a commit, or a tree (the empty tree: everything is new)."""
    head = branch_head(project, branch)
    if cursor is None:
        return Changes(head, None)
    if cursor == head:
        return Changes(head, cursor)
    rewritten = not is_ancestor(project.root, cursor, head) and not is_tree(project.root, cursor)
    since = cursor
    if rewritten:
        since = git(project.root, "merge-base", cursor, head, check=False) or None
        if since is None:  # unrelated histories (or the cursor's commit is gone): start over from here
            return Changes(head, None, rewritten=True)
    paths = tuple(p for p in git(project.root, "diff", "--name-only", "--no-renames", since, head).splitlines() if p)
    return Changes(head, since, rewritten, MASTER_SPEC in paths, _edited_slices(project, head, paths, recorded),
                   paths)


def _edited_slices(project: Project, head: str, paths: tuple[str, ...], recorded: dict[str, dict]) -> tuple[str, ...]:
    """Slices with a committed file that is neither what VSO last generated for it nor what the
    slice's own branch holds (its implementation, merged home after production)."""
    candidates: dict[str, list[str]] = {}
    for path in paths:
        parts = Path(path).parts
        if len(parts) >= 3 and parts[0] == SLICES_DIR and not path.endswith(PROPOSAL_SUFFIX):
            candidates.setdefault(parts[1], []).append(path)
    if not candidates:
        return ()
    blobs = _blobs(project, head, [p for group in candidates.values() for p in group])
    edited = []
    for slice_id, group in sorted(candidates.items()):
        files = recorded.get(slice_id, {}).get("files", {})
        changed = [p for p in group if blobs[p] is None or files.get(p.split("/", 2)[2]) != sha256_bytes(blobs[p])]
        worktree = existing_worktree(project, slice_id) if changed else None
        if worktree is not None:
            on_branch = _blobs(project, worktree.branch, changed)
            changed = [p for p in changed if on_branch[p] != blobs[p]]
        if changed:
            edited.append(slice_id)
    return tuple(edited)


def _blobs(project: Project, commit: str, paths: list[str]) -> dict[str, bytes | None]:
    """Each path's content at `commit` (None when deleted there), in one `git cat-file --batch`."""
    request = "".join(f"{commit}:{p}\n" for p in paths).encode()
    done = run_git(project.root, "cat-file", "--batch", input=request, check=True)
    out, blobs, at = done.stdout, {}, 0
    for path in paths:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) >= 2 and header[1] == b"missing":
            blobs[path] = None
            continue
        size = int(header[2])
        blobs[path] = out[at:at + size]
        at += size + 1
    return blobs

