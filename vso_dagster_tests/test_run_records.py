"""The pieces of runs on other machines, each on its own: a run's record of a slice laid over another
machine's state.json, and a clone kept in step with a real bare git remote. The whole path (two
clones, one PostgreSQL, a worker's daemon) is test_runs_elsewhere.py."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest

from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.base.project import Project
from vso_dagster.core.base.remote_checkout import bring_up_to_date, share_branch, take_slice_branch
from vso_dagster.core.base.run_records import apply_slice_record, slice_record, take_committed
from vso_dagster.core.base.state import EMPTY_STATE

AUTH, TODOS = "slice-001-auth", "slice-002-todos"


def a_state(**slices: dict) -> dict:
    state = copy.deepcopy(EMPTY_STATE)
    state["slices"] = {sid.replace("_", "-"): entry for sid, entry in slices.items()}
    return state


def test_what_a_run_recorded_on_one_machine_is_what_another_then_has():
    there = a_state(**{"slice-001-auth": {"status": "deployed", "version": "1.0.1", "tested_commit": "abc",
                                          "agent_spend": {"runs": 1}, "integration": {"passed": True}}})
    there["deployments"]["production"] = {"slices_deployed": [AUTH], "endpoints": {AUTH: {"url": "http://h:1"}}}
    there["conflicts"] = [{"slice_id": AUTH, "kind": "branch", "path": "b"}]
    here = a_state(**{"slice-001-auth": {"status": "draft", "version": "1.0.2", "files": {"spec.md": "h"},
                                         "built_version": "0.9"}})
    here["deployments"]["test"] = {"slices_deployed": [AUTH], "endpoints": {AUTH: {"url": "http://old"}}}

    assert apply_slice_record(here, AUTH, slice_record(there, AUTH))
    auth = here["slices"][AUTH]
    assert auth["status"] == "deployed" and auth["tested_commit"] == "abc" and auth["integration"]["passed"]
    assert "built_version" not in auth  # the run's record says it has none: a key it dropped goes
    # What the decomposition owns stays this machine's (it comes from git).
    assert auth["version"] == "1.0.2" and auth["files"] == {"spec.md": "h"}
    assert here["deployments"]["production"]["endpoints"][AUTH] == {"url": "http://h:1"}
    assert here["deployments"]["production"]["slices_deployed"] == [AUTH]
    # No longer serving test where the run ran: no longer serving test here either.
    assert AUTH not in here["deployments"]["test"]["endpoints"] and here["deployments"]["test"]["slices_deployed"] == []
    assert here["conflicts"] == there["conflicts"]
    assert not apply_slice_record(here, AUTH, slice_record(there, AUTH))  # the same record again changes nothing


def test_a_record_of_a_slice_unknown_or_retired_here_changes_nothing():
    there = a_state(**{"slice-001-auth": {"status": "implemented"}, "slice-002-todos": {"status": "implemented"}})
    here = a_state(**{"slice-002-todos": {"status": "retired"}})
    before = copy.deepcopy(here)
    assert not apply_slice_record(here, AUTH, slice_record(there, AUTH))
    assert not apply_slice_record(here, TODOS, slice_record(there, TODOS))
    assert here == before


def test_a_newer_plan_from_git_brings_new_slices_and_versions_and_keeps_what_runs_recorded():
    here = a_state(**{"slice-001-auth": {"status": "implemented", "version": "1.0.0", "tested_commit": "abc",
                                         "last_modified": "then"},
                      "slice-002-todos": {"status": "draft", "version": "1.0.0"}})
    committed = a_state(**{"slice-001-auth": {"status": "draft", "version": "1.0.1", "input_hash": "i2",
                                              "last_modified": "now"},
                           "slice-002-todos": {"status": "retired", "version": "1.0.0"},
                           "slice-003-reports": {"status": "draft", "version": "1.0.0"}})
    take_committed(here, committed)
    assert here["slices"][AUTH] == {"status": "implemented", "version": "1.0.1", "tested_commit": "abc",
                                    "input_hash": "i2", "last_modified": "then"}
    assert here["slices"][TODOS]["status"] == "retired"
    assert here["slices"]["slice-003-reports"] == {"status": "draft", "version": "1.0.0"}


# --- a clone and its remote, in real git ---

def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), "-c", "user.name=T", "-c", "user.email=t@t", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Project, Path]:
    """A bare remote with one commit on main, a clone VSO works in, and another clone (a person, or
    another machine)."""
    remote, other = tmp_path / "remote.git", tmp_path / "other"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(tmp_path, "clone", "-q", str(remote), str(other))
    (other / "master-spec.md").write_text("# v1\n")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "v1")
    git(other, "push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", str(remote), str(tmp_path / "clone"))
    return remote, Project.at(tmp_path / "clone"), other


def test_a_clone_takes_the_remotes_new_commits_before_a_run(clones):
    remote, project, other = clones
    assert not bring_up_to_date(project, "origin", "main")  # nothing new
    (other / "master-spec.md").write_text("# v2\n")
    git(other, "commit", "-qam", "v2")
    git(other, "push", "-q", "origin", "main")
    assert bring_up_to_date(project, "origin", "main")
    assert (project.root / "master-spec.md").read_text() == "# v2\n"


def test_a_clone_on_another_branch_is_refused_saying_how_to_fix_it(clones):
    _, project, _ = clones
    git(project.root, "switch", "-qc", "elsewhere")
    with pytest.raises(VSOError, match="not main; runs work from main .* `git switch main` there"):
        bring_up_to_date(project, "origin", "main")


def test_a_slice_branch_from_the_remote_is_taken_and_fast_forwarded_and_a_diverged_one_refused(clones, tmp_path):
    remote, project, other = clones
    git(other, "switch", "-qc", "slice-001-auth-v1.0.0")
    (other / "service.py").write_text("one\n")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "built")
    git(other, "push", "-q", "origin", "slice-001-auth-v1.0.0")
    git(project.root, "fetch", "-q", "origin")
    take_slice_branch(project, "origin", "slice-001-auth-v1.0.0", None)
    assert git(project.root, "rev-parse", "slice-001-auth-v1.0.0") == git(other, "rev-parse", "HEAD")
    worktree = tmp_path / "wt"
    git(project.root, "worktree", "add", "-q", str(worktree), "slice-001-auth-v1.0.0")
    (other / "service.py").write_text("two\n")
    git(other, "commit", "-qam", "fixed")
    git(other, "push", "-q", "origin", "slice-001-auth-v1.0.0")
    git(project.root, "fetch", "-q", "origin")
    take_slice_branch(project, "origin", "slice-001-auth-v1.0.0", worktree)
    assert (worktree / "service.py").read_text() == "two\n"
    (worktree / "service.py").write_text("here\n")
    git(worktree, "commit", "-qam", "here")
    (other / "service.py").write_text("there\n")
    git(other, "commit", "-qam", "there")
    git(other, "push", "-q", "origin", "slice-001-auth-v1.0.0")
    git(project.root, "fetch", "-q", "origin")
    with pytest.raises(VSOError, match="commits here and on origin that the other lacks"):
        take_slice_branch(project, "origin", "slice-001-auth-v1.0.0", worktree)
    assert (worktree / "service.py").read_text() == "here\n"


def test_a_merge_home_is_shared_with_the_remotes_newer_commits_merged_in(clones):
    remote, project, other = clones
    (project.root / "slice.txt").write_text("home\n")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "Merge slice: home")
    (other / "master-spec.md").write_text("# v2\n")
    git(other, "commit", "-qam", "v2")
    git(other, "push", "-q", "origin", "main")
    share_branch(project, "origin", "main")
    assert git(remote, "show", "main:slice.txt") == "home" and git(remote, "show", "main:master-spec.md") == "# v2"
    assert git(project.root, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
