"""How VSO's assets present themselves in the UI: the owners and group a project configures, and code
references to where each asset is defined, linked to the hosted source when VSO runs from a clone of
a GitHub or GitLab repository."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import dagster as dg

from ..core.base.config import Config, load_config
from ..core.base.errors import VSOError
from ..core.base.gitrun import git, head_commit
from ..core.base.project import Project

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# git@github.com:owner/repo.git, ssh://git@gitlab.com/owner/repo, https://github.com/owner/repo.git
_REMOTE = re.compile(r"^(?:https://|ssh://git@|git@)(?P<host>github\.com|gitlab\.com)[:/](?P<path>[\w.-]+/[\w.-]+?)"
                     r"(?:\.git)?/?$")


def loading_config() -> Config:
    """The config of the project Dagster loads VSO for ($VSO_PROJECT_ROOT, else the working
    directory); the defaults when it cannot be read (the UI still loads, and says nothing wrong)."""
    try:
        return load_config(Project.at(os.environ.get("VSO_PROJECT_ROOT") or os.getcwd()))
    except VSOError:
        return Config(agent=None)


@dataclass(frozen=True)
class SourceLink:
    url: str  # the repository's web address
    commit: str  # the commit the running code is at: links never point at code that moved on
    root: Path  # the local clone's root


def source_link(package_dir: Path = PACKAGE_DIR) -> SourceLink | None:
    """Where the code in `package_dir` can be browsed, if it is a clone of a hosted repository."""
    root = git(package_dir, "rev-parse", "--show-toplevel", check=False)
    remote = git(package_dir, "remote", "get-url", "origin", check=False) if root else ""
    found = _REMOTE.match(remote)
    commit = head_commit(package_dir) if found else ""
    if not (found and commit):
        return None
    return SourceLink(f"https://{found['host']}/{found['path']}", commit, Path(root))


@cache
def running_source() -> SourceLink | None:
    """source_link of VSO's own package, asked once per process (three git calls): the code a process
    runs does not move under it, and every project a deployment assembles shares the answer."""
    return source_link()


def with_code_references(assets: list, link: SourceLink | None) -> list:
    """Each asset with a reference to where it is defined, linked to the hosted source when `link` is given."""
    assets = dg.with_source_code_references(assets)
    if link is None:
        return list(assets)
    mapping = dg.AnchorBasedFilePathMapping(local_file_anchor=link.root, file_anchor_path_in_repository="")
    return list(dg.link_code_references_to_git(assets, git_url=link.url, git_branch=link.commit,
                                               file_path_mapping=mapping))


def with_project_owners(defs: dg.Definitions, owners: Sequence[str], group: str | None) -> dg.Definitions:
    """The project's owners and group (`[dagster] owners` and `group`, or the Component's), when set, on
    every asset."""
    if not (owners or group):
        return defs
    return defs.map_asset_specs(func=lambda spec: spec.replace_attributes(
        owners=list(owners) or spec.owners, group_name=group or spec.group_name))
