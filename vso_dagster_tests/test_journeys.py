"""User journeys past the demo, walked the way a user walks them: real git with VSO's hooks
installed, real commits, the `vso` command. Each one broke once where a real boundary is crossed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from vso_dagster.core.base.state import load_state

from .conftest import commit, run_vso, user_env, venv_bin
from .dagster_ui import free_port
from .test_sync import AUTH, TODOS, git, head


def user_commit(project, message: str) -> subprocess.CompletedProcess:
    """`git commit -am` as a user types it: git runs the installed hooks."""
    return subprocess.run(["git", "-C", str(project.root), "-c", "user.name=U", "-c", "user.email=u@u", "commit",
                           "-qam", message], capture_output=True, text=True, check=True)


def wait_for_background_sync(project, timeout_s: float = 180) -> str:
    """Until the detached `vso sync` the post-commit hook started has finished; returns sync.log."""
    log = project.logs_dir / "sync.log"
    deadline, quiet = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        running = subprocess.run(["pgrep", "-f", f"--project-root {project.root} sync"], capture_output=True)
        quiet = quiet + 1 if text and running.returncode != 0 else 0
        if quiet >= 3:  # the log written and no sync process seen three times in a row
            return text
        time.sleep(0.5)
    raise AssertionError(f"the background sync did not finish within {timeout_s}s:\n{log.read_text()}")


def add_note(project, slice_id: str, note: str) -> None:
    spec = project.slice_dir(slice_id) / "spec.md"
    spec.write_text(spec.read_text() + f"\n{note}\n")


def branch_spec(project, slice_id: str) -> str:
    branch = git(project, "-C", str(project.state_dir / "worktrees" / slice_id), "rev-parse", "--abbrev-ref", "HEAD")
    return git(project, "show", f"{branch}:vertical-slices/{slice_id}/spec.md")


def nightly_row(vso, slice_id: str) -> str:
    listed = vso("nightly", "--dry-run")
    assert listed.exit_code == 0, listed.output
    return next((line for line in listed.output.splitlines() if slice_id in line), "")


def test_a_commit_through_the_post_commit_hook_re_runs_the_edited_slice(committed, vso):
    assert vso("orchestrate", "--slice-id", AUTH).exit_code == 0
    assert vso("sync").exit_code == 0
    assert vso("hooks", "install").exit_code == 0
    add_note(committed, AUTH, "A note the team added through a commit.")
    user_commit(committed, "a note for auth")  # git exports GIT_INDEX_FILE and friends to the hook
    users = head(committed)
    log = wait_for_background_sync(committed)
    assert "failed" not in log and "index.lock" not in log, log
    assert f"slices edited: {AUTH}" in log
    assert "A note the team added through a commit." in branch_spec(committed, AUTH)  # built with the edit
    assert load_state(committed)["sync_cursor"] == users
    after = git(committed, "log", "--format=%an", f"{users}..HEAD").split()
    # What came after is VSO's own commit of what it wrote (master_sync), as VSO, not as the user.
    assert set(after) <= {"VSO"}, git(committed, "log", "--format=%h %an %s", "-6")
    # Nothing is left to re-run: either no commit came after, or only VSO's own, which holds nothing.
    assert re.search(r"No new commit since the last sync|slices re-run: 0", vso("sync").output)


def test_a_failed_sync_keeps_its_cursor_and_the_nightly_run_retries_the_slice(committed, vso):
    assert vso("orchestrate", "--slice-id", AUTH).exit_code == 0
    assert vso("sync").exit_code == 0
    before = load_state(committed)["sync_cursor"]
    test_file = committed.slice_dir(AUTH) / "tests/unit/test_auth_contract.py"
    working = test_file.read_text()
    test_file.write_text(working + "\n\ndef test_added_by_a_person():\n    assert 1 == 2\n")
    commit(committed.root, "a unit test the implementation does not pass")
    failed = vso("sync")
    assert failed.exit_code == 1 and "retries them" in failed.output
    assert load_state(committed)["sync_cursor"] == before  # the failed commit is not skipped
    assert "slice_implementation: its last run" in nightly_row(vso, AUTH)  # stale until a run succeeds
    again = vso("sync")
    assert again.exit_code == 1 and "No new commit" not in again.output
    test_file.write_text(working)
    commit(committed.root, "the test is fixed")
    fixed = vso("sync")
    assert fixed.exit_code == 0, fixed.output
    assert load_state(committed)["sync_cursor"] == head(committed)
    assert "test_deployment: never materialized" in nightly_row(vso, AUTH)  # built: only never-run stages left


def test_the_first_sync_processes_a_master_change_committed_before_it(committed, vso):
    assert vso("orchestrate", "--slice-id", AUTH).exit_code == 0
    text = committed.master_spec.read_text()
    committed.master_spec.write_text(text.replace("Sign-up, login and tokens", "Sign-up, login and session tokens"))
    commit(committed.root, "a master change before anyone ran vso sync")
    first = vso("sync")
    assert first.exit_code == 0, first.output
    assert "since the slices were generated" in first.output and "master spec changed" in first.output
    assert "session tokens" in (committed.slice_dir(AUTH) / "spec.md").read_text()
    assert "session tokens" in branch_spec(committed, AUTH)  # and the slice was rebuilt from it
    assert f"│ {AUTH}" in first.output and f"│ {TODOS}" not in first.output  # nothing built there before


def test_a_clean_git_environment_even_when_vso_runs_inside_a_hook(committed, vso):
    """What a hook exports, set by hand: VSO's git calls in the slice's worktree still work."""
    bogus = {"GIT_DIR": str(committed.root / ".git"), "GIT_INDEX_FILE": str(committed.root / ".git/index"),
             "GIT_WORK_TREE": str(committed.root)}
    os.environ.update(bogus)
    try:
        result = vso("orchestrate", "--slice-id", AUTH)
    finally:
        for key in bogus:
            os.environ.pop(key)
    assert result.exit_code == 0, result.output
    assert git(committed, "diff", "--cached", "--name-only") == ""  # the project's index untouched


def test_a_command_with_nothing_to_run_does_not_load_dagster(committed):
    """Importing Dagster is most of the time of a command that has nothing to do (about 2 s of 3)."""
    assert run_vso(committed.root, "decompose").returncode == 0  # the master's section written, the plan current
    for args in (("status",), ("decompose",), ("validate",)):
        done = run_vso(committed.root, *args, extra_env={"PYTHONPROFILEIMPORTTIME": "1"})
        assert done.returncode == 0, (args, done.stderr[-2000:])
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                    if line.startswith("import time:")}
        assert "vso_dagster.cli.main" in imported, args  # the profile is there to read
        assert "dagster" not in imported, args


def test_vso_finds_its_project_from_a_subdirectory_and_refuses_outside_one(committed, tmp_path):
    inside = committed.slice_dir(AUTH) / "tests"
    listed = run_vso(inside, "status")
    assert listed.returncode == 0 and AUTH in listed.stdout, listed.stderr
    assert run_vso(inside, "decompose").returncode == 0
    assert not (inside / ".slice-orchestrator").exists() and not list(inside.rglob(".slice-orchestrator"))
    outside = tmp_path / "not-a-project"
    outside.mkdir()
    for args in (("status",), ("decompose",), ("orchestrate", "--all"), ("sync",), ("nightly", "--dry-run"),
                 ("deploy", "--all"), ("hooks", "install")):
        refused = run_vso(outside, *args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert "not a VSO project" in refused.stderr and "vso init" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert run_vso(outside, "validate").returncode == 2
    assert list(outside.iterdir()) == []  # nothing left behind
    assert run_vso(outside, "status", "--help").returncode == 0


def test_stop_and_destroy_refuse_a_slice_that_does_not_exist(committed):
    for args in (("stop", "slice-099-nope"), ("destroy", "--slice-id", "slice-099-nope", "--environment", "test"),
                 ("attach", "slice-099-nope")):
        refused = run_vso(committed.root, *args)
        assert refused.returncode == 2 and "slice-099-nope: no such slice" in refused.stderr, refused.stderr


@pytest.mark.parametrize("command", [("attach",), ("stop",), ("test",), ("resolve", "--take", "slice")])
def test_a_one_slice_command_takes_the_slice_as_slice_id_or_argument_once(committed, command):
    for given in (("--slice-id", "slice-099-nope"), ("slice-099-nope",)):
        refused = run_vso(committed.root, *command, *given)
        assert refused.returncode == 2 and "slice-099-nope" in refused.stderr, (given, refused.stderr)
        assert "Traceback" not in refused.stderr
    for given in ((), ("slice-001-auth", "--slice-id", "slice-002-todos")):
        unclear = run_vso(committed.root, *command, *given)
        assert unclear.returncode == 2 and "give one slice: --slice-id SLICE" in unclear.stderr, (given, unclear.stderr)


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_vso_ui_stops_its_whole_process_tree(committed, signum):
    port = free_port()
    env = user_env()
    ui = subprocess.Popen([venv_bin("vso"), "ui", "--port", str(port)], cwd=committed.root, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError("the Dagster UI never answered")
        tree = descendants(ui.pid)
        assert len(tree) >= 3  # dagster dev, its webserver and its daemon (and their code servers)
        ui.send_signal(signum)
        assert ui.wait(timeout=30) != 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(running(pid) for pid in tree):
            time.sleep(0.2)
        assert not [pid for pid in tree if running(pid)], "left running"
    finally:
        if ui.poll() is None:
            ui.kill()


def test_a_second_version_goes_home_and_vso_commits_only_what_it_wrote(committed, vso):
    from vso_dagster.core.deployment.deploy import destroy

    try:
        assert vso("orchestrate", "--slice-id", AUTH).exit_code == 0
        delivered = vso("deploy", "--slice-id", AUTH)
        assert delivered.exit_code == 0 and f"{AUTH}-v1.0.0 merged into main" in delivered.output
        assert vso("sync").exit_code == 0
        mine = committed.root / "NOTES.md"  # a change of the user's, uncommitted, must stay theirs
        mine.write_text("my notes\n")
        text = committed.master_spec.read_text()
        committed.master_spec.write_text(text.replace("Sign-up, login and tokens", "Sign-up, login and passkeys"))
        user_commit(committed, "auth learns passkeys")
        synced = vso("sync")
        assert synced.exit_code == 0, synced.output
        assert f"{AUTH}-v1.0.1 merged into main" in synced.output  # said in the CLI, not only in metadata
        assert git(committed, "status", "--porcelain") == "?? NOTES.md"  # VSO's writes committed, mine not
        assert git(committed, "branch", "--no-merged", "main") == ""
        vso_commits = git(committed, "log", "--format=%an|%s", "--author=VSO").splitlines()
        assert any(line.startswith("VSO|VSO: decomposed master-spec.md") for line in vso_commits), vso_commits
        for sha in git(committed, "log", "--format=%H", "--author=VSO", "--no-merges").splitlines():
            assert "NOTES.md" not in git(committed, "show", "--name-only", "--format=", sha)
        redeploy = vso("deploy", "--slice-id", AUTH, "--environment", "test")
        assert redeploy.exit_code == 0
        assert git(committed, "status", "--porcelain") == "?? NOTES.md"  # a deploy changes no tracked file
        for tracked in (committed.master_spec, committed.slice_dir(AUTH) / "metadata.json"):
            assert "127.0.0.1" not in tracked.read_text() and '"deployed"' not in tracked.read_text()
    finally:
        for env in ("test", "production"):
            destroy(committed, AUTH, env)


def test_a_fresh_clone_gets_its_state_back_from_the_committed_files(committed, vso, tmp_path):
    from .conftest import tree_digest

    assert vso("decompose").exit_code == 0
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(committed.root), str(clone)], check=True)
    assert not (clone / ".slice-orchestrator/state.json").exists()  # local to a machine: not committed
    before = tree_digest(clone / "vertical-slices")
    listed = run_vso(clone, "status")
    assert listed.returncode == 0 and AUTH in listed.stdout and "1.0.0" in listed.stdout
    decomposed = run_vso(clone, "decompose")
    assert decomposed.returncode == 0, decomposed.stderr
    assert "0 written or refreshed" in decomposed.stdout
    assert tree_digest(clone / "vertical-slices") == before  # the same IDs, versions and files
    assert subprocess.run(["git", "-C", str(clone), "status", "--porcelain"], capture_output=True,
                          text=True).stdout == ""


def test_deploy_ships_the_tested_commit_and_refuses_a_newer_untested_head(committed, vso):
    from vso_dagster.core.deployment.deploy import destroy
    from vso_dagster.core.deployment.deployments import deployments

    assert vso("orchestrate", "--slice-id", AUTH).exit_code == 0
    worktree = committed.state_dir / "worktrees" / AUTH
    tested = git(committed, "-C", str(worktree), "rev-parse", "HEAD")
    service = worktree / "vertical-slices" / AUTH / "service/main.py"
    service.write_text(service.read_text() + "\n# a change made after the unit tests ran\n")
    git(committed, "-C", str(worktree), "-c", "user.name=A", "-c", "user.email=a@a", "commit", "-qam", "later")
    newer = git(committed, "-C", str(worktree), "rev-parse", "HEAD")
    try:
        refused = vso("deploy", "--slice-id", AUTH, "--environment", "test")
        assert refused.exit_code == 1
        assert f"is at {newer[:12]}, but its unit tests passed on {tested[:12]}" in refused.output
        assert f"vso test --slice-id {AUTH}" in refused.output and deployments(committed, "test") == {}
        assert vso("test", "--slice-id", AUTH).exit_code == 0  # the new head, tested
        deployed = vso("deploy", "--slice-id", AUTH, "--environment", "test")
        assert deployed.exit_code == 0, deployed.output
        assert deployments(committed, "test")[AUTH]["commit"] == newer
        service.write_text(service.read_text() + "# not committed\n")
        dirty = vso("deploy", "--slice-id", AUTH, "--environment", "test")
        assert dirty.exit_code == 1 and "uncommitted changes" in dirty.output
        assert deployments(committed, "test")[AUTH]["commit"] == newer  # the last good deployment serves on
    finally:
        destroy(committed, AUTH, "test")
