"""A run's checkout, kept in step with the project's git remote.

With `[dagster] checkout = "git"` a run works in the clone of the machine it executes on. Before it
works, that clone takes what the remote has: the watched branch (new specs), and the slice's branch
(what a team on another machine built). After, it gives back what it made: the slice's branch, and
the watched branch once a slice went home. Nothing is forced: a branch that moved on both sides is
merged (the watched branch, when a merge home is to be shared) or refused (a slice's branch, which a
person must settle).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .config import Config
from .errors import VSOError
from .gitrun import IDENTITY, clean_env, commit_of, current_branch, git, head_commit, is_ancestor, run_git
from .project import Project
from .run_records import take_committed
from .state import load_state, rebuilt_state, updating_state
from .worktrees import Worktree, branch_name, ensure_worktree, existing_worktree, head

GIT_NETWORK_TIMEOUT_S = 300
PLAN_COMMIT = "plan_commit"  # state.json: the commit whose decomposition this machine's state holds


def take_remote_plan(project: Project, config: Config) -> None:
    """Before a slice run: the watched branch as the remote has it, and this machine's state.json
    with the decomposition those files hold (new slices, versions, dependencies)."""
    bring_up_to_date(project, config.remote, config.sync_branch)
    now_at = head_commit(project.root)
    with updating_state(project) as state:
        if state.get(PLAN_COMMIT) != now_at:
            take_committed(state, rebuilt_state(project))
            state[PLAN_COMMIT] = now_at


def take_slice_work(project: Project, config: Config, slice_id: str) -> None:
    """Before a slice run: the slice's branch for its current version as the remote has it, checked
    out in the slice's worktree when it exists anywhere (a deploy needs the tested commit here)."""
    version = load_state(project)["slices"][slice_id]["version"]
    branch, worktree = branch_name(slice_id, version), existing_worktree(project, slice_id)
    take_slice_branch(project, config.remote, branch, worktree.path if worktree and worktree.branch == branch else None)
    if (worktree is None or worktree.branch != branch) and commit_of(project.root, f"refs/heads/{branch}"):
        ensure_worktree(project, slice_id, version)


def share_slice_branch(project: Project, config: Config, worktree: Worktree) -> None:
    """After a slice was built: its branch, at its head, pushed for the machines that deploy it."""
    push(project, config.remote, head(worktree), worktree.branch, then="the slice is built here only")


def bring_up_to_date(project: Project, remote: str, branch: str) -> bool:
    """Fetches `remote` and fast-forwards the checkout's `branch` to it when only the remote moved.
    A branch that moved on both sides stays as it is until a merge home is shared (`share_branch`).
    Returns whether the checkout's files changed."""
    on = current_branch(project.root)
    if on != branch:
        raise VSOError(f"{project.root}: the checkout is on {on or 'a detached HEAD'}, not {branch}; runs work from "
                       f"{branch} ([sync] branch): `git switch {branch}` there")
    _network(project, "fetch", remote, then="nothing was run")
    theirs, ours = commit_of(project.root, f"refs/remotes/{remote}/{branch}"), head_commit(project.root)
    if theirs and theirs != ours and is_ancestor(project.root, ours, theirs):
        _merge(project, theirs, "--ff-only")
        return True
    return False


def share_branch(project: Project, remote: str, branch: str) -> None:
    """After a slice went home: the watched branch, with the remote's newer commits merged in when
    both moved, pushed to the remote."""
    bring_up_to_date(project, remote, branch)
    theirs = commit_of(project.root, f"refs/remotes/{remote}/{branch}")
    if theirs and not is_ancestor(project.root, theirs, "HEAD"):
        _merge(project, theirs, "--no-edit", "-m", f"Merge {remote}/{branch}: work from other machines")
    if head_commit(project.root) != theirs:
        push(project, remote, head_commit(project.root), branch, then=f"the merge home stays here, not on {remote}")


def take_slice_branch(project: Project, remote: str, branch: str, worktree_path: Path | None) -> None:
    """The slice's `branch` as the remote has it, if it has it: created here, or fast-forwarded (in
    the slice's worktree, `worktree_path`, when that is on it). A branch ahead of the remote stays
    (the run pushes it); one that moved on both sides is refused."""
    theirs = commit_of(project.root, f"refs/remotes/{remote}/{branch}")
    if not theirs:
        return
    ours = commit_of(project.root, f"refs/heads/{branch}")
    if not ours:
        git(project.root, "branch", "--quiet", branch, theirs)
    elif ours != theirs and is_ancestor(project.root, ours, theirs):
        if worktree_path is not None:
            git(worktree_path, "merge", "--quiet", "--ff-only", theirs)
        else:
            git(project.root, "update-ref", f"refs/heads/{branch}", theirs, ours)
    elif ours != theirs and not is_ancestor(project.root, theirs, ours):
        raise VSOError(f"{branch} has commits here and on {remote} that the other lacks (two machines worked on "
                       f"it); merge {remote}/{branch} into it in {project.root}, then run the slice again")


def push(project: Project, remote: str, commit: str, branch: str, *, then: str) -> None:
    """`git push REMOTE COMMIT:refs/heads/BRANCH`, never forced, never prompting (no terminal in a
    Dagster run), with no hook: VSO pushes only what its own checks passed. `then`: what the
    failure means for the user ("nothing was deployed")."""
    done = _network(project, "push", remote, f"{commit}:refs/heads/{branch}", then=then, check=False)
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        hint = ("the remote's branch has commits this one lacks (pushed from elsewhere): merge them into "
                f"{branch} and try again" if any("non-fast-forward" in line or "rejected" in line
                                                 for line in said) else
                "check the remote and your credentials for it")
        raise VSOError(f"git push {remote} {branch} failed: {said[-1] if said else f'exit {done.returncode}'}; "
                       f"{hint}. {then.capitalize()}")


def _network(project: Project, verb: str, remote: str, *args: str, then: str,
             check: bool = True) -> subprocess.CompletedProcess:
    """`git fetch|push REMOTE ...`: no prompt, no hook, and a bound on how long it may wait."""
    env = {**clean_env(), "GIT_TERMINAL_PROMPT": "0"}
    argv = ["git", "-C", str(project.root), "-c", "core.hooksPath=/dev/null", verb, "--quiet", remote, *args]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=GIT_NETWORK_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise VSOError(f"git {verb} {remote} did not finish within {GIT_NETWORK_TIMEOUT_S}s (unreachable, or "
                       f"waiting for credentials); {then}") from None
    if check and done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise VSOError(f"git {verb} {remote} failed: {said[-1] if said else f'exit {done.returncode}'}; check the "
                       f"remote ([deploy] remote) and your credentials for it; {then}")
    return done


def _merge(project: Project, commit: str, *how: str) -> None:
    done = run_git(project.root, *IDENTITY, "merge", "--quiet", *how, commit, text=True)
    if done.returncode == 0:
        return
    if commit_of(project.root, "MERGE_HEAD"):
        git(project.root, "merge", "--abort", check=False)
    said = (done.stderr or done.stdout).strip().splitlines()
    raise VSOError(f"{project.root}: git could not bring in {commit[:12]} from the remote "
                   f"({said[0] if said else 'merge failed'}); settle it there (`git merge {commit[:12]}`), then run "
                   f"again. Nothing was run")
