"""The tested commit, pushed where a cloud server can fetch it.

A Hetzner server fetches the project itself, so it serves whatever the remote holds. The slice's
implementation lives on its own branch until production merges it home, and that branch exists
only here. So before any resource is created, VSO pushes the branch, at exactly the commit the unit
tests passed on, to `[deploy] remote`, and the server checks out that commit by its SHA: a branch
name could move on between the push and the server's boot.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from ..base.config import Config
from ..base.errors import VSOError
from ..base.gitrun import git
from ..base.project import Project
from ..base.remote_checkout import push
from ..base.worktrees import existing_worktree


@dataclass(frozen=True)
class Published:
    remote: str
    repo_url: str  # what the server fetches from
    branch: str
    commit: str


def publish_tested(project: Project, slice_id: str, commit: str | None, config: Config) -> Published:
    """Pushes the slice's branch at `commit` to the configured remote. Raises, having changed
    nothing anywhere, when there is no remote, no usable URL or the push is refused."""
    worktree = existing_worktree(project, slice_id)
    if worktree is None or not commit:
        raise VSOError(f"{slice_id}: no branch with a tested implementation to serve (a cloud server runs the "
                       f"slice's branch); `vso orchestrate --slice-id {slice_id}` first. Nothing was deployed")
    pushed_to = remote_url(project, config.remote)
    repo_url = check_repo_url(config.repo_url or pushed_to, config.repo_url)
    push(project, config.remote, commit, worktree.branch, then="nothing was deployed")
    return Published(config.remote, repo_url, worktree.branch, commit)


def remote_url(project: Project, remote: str) -> str:
    url = git(project.root, "remote", "get-url", "--", remote, check=False)
    if not url:
        raise VSOError(f"git remote {remote!r} is not configured in {project.root}: a cloud server fetches the "
                       f"tested commit from it. `git remote add {remote} URL` (a repository your servers can "
                       f"reach), or name another remote as [deploy] remote in .slice-orchestrator/config.toml. "
                       f"Nothing was deployed")
    return url


def check_repo_url(url: str, configured: str) -> str:
    """The URL as the server will fetch it; refused when it carries a password or token, which the
    server would keep in its cloud-init data (and Terraform in its state)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https") and "@" in parts.netloc:
        where = "[deploy] repo_url" if configured else "the remote's URL"
        raise VSOError(f"{where} carries credentials ({parts.scheme}://…@{parts.hostname}): the server would keep "
                       f"them in its cloud-init. Give the server a URL without them (a public or deploy-key URL) "
                       f"as [deploy] repo_url in .slice-orchestrator/config.toml. Nothing was deployed")
    return url
