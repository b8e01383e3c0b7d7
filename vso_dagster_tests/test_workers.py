"""Worker slices: a component with no HTTP API (a nightly job, a consumer) gets a job's shape, a
runnable entry point with a unit test of it, and is deployed as a run of that job, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from vso_dagster.core.base.master_spec import parse_master_spec
from vso_dagster.core.base.state import load_state
from vso_dagster.core.base.unit_tests import run_tests
from vso_dagster.core.base.worktrees import branch_name
from vso_dagster.core.decomposition.planning import build_plan
from vso_dagster.core.deployment.deployments import deployments

from .conftest import commit, commit_on_branch

SPEC = textwrap.dedent("""\
    ---
    title: "Fleet"
    version: "1.0.0"
    ---

    # Fleet Master Specification

    ## Overview
    Buses report positions; old positions are archived.

    ## Requirements
    ### Functional
    - Positions older than a day are moved to cold storage every night, in one batch
    - A bus posts its position

    ### Non-Functional
    - Performance: p99 < 2s for every endpoint
    - Availability: 99.9% monthly

    ## Architecture
    ### Components
    - **Tracking**: Buses post their GPS positions
    - **Archiver**: Nightly batch job that moves old positions to cold storage; no HTTP API (depends on: Tracking)

    ### Data Models
    - Position: {id, vehicle_id, lat, lon, at}
    - ArchiveBatch: {id, day, moved} [Archiver]

    ## API Endpoints
    - POST /tracking/positions → Record a position
    """)
ARCHIVER = "slice-002-archiver"


def plan_of(text: str):
    return build_plan(parse_master_spec(text.encode(), "master-spec.md"), {})


def test_a_component_with_no_endpoints_described_as_a_job_is_a_worker():
    tracking, archiver = plan_of(SPEC).slices
    assert (tracking.kind, archiver.kind) == ("service", "worker")
    assert archiver.kind_reason == "no endpoints, and it is described as 'nightly'"
    assert archiver.functional == ["Positions older than a day are moved to cold storage every night, in one batch"]
    assert archiver.latency is None and [r["text"] for r in archiver.non_functional] == ["Availability: 99.9% monthly"]
    assert archiver.platform == "local"
    # Job words alone do not make a worker: a component with endpoints serves them.
    [service] = plan_of(SPEC.replace("- **Tracking**: Buses post their GPS positions",
                                     "- **Tracking**: Buses post their GPS positions; a nightly batch compacts them")
                        .replace("- **Archiver**: Nightly batch job that moves old positions to cold storage; "
                                 "no HTTP API (depends on: Tracking)\n", "")
                        .replace("- ArchiveBatch: {id, day, moved} [Archiver]\n", "")).slices
    assert service.kind == "service"


def test_a_worker_gets_a_job_a_unit_test_of_it_and_no_http_parts(project, vso):
    project.master_spec.write_text(SPEC)
    assert vso("decompose").exit_code == 0
    slice_dir = project.slice_dir(ARCHIVER)
    files = sorted(str(p.relative_to(slice_dir)) for p in slice_dir.rglob("*") if p.is_file())
    assert files == ["metadata.json", "spec.md", "tests/unit/test_archiver_job.py", "worker/job.py",
                     "worker/requirements.txt"]
    spec = (slice_dir / "spec.md").read_text()
    assert "- run to completion with `python worker/job.py`" in spec and "GET /health" not in spec
    assert "as described in the overview" not in spec and "p99" not in spec and "requests within" not in spec
    assert json.loads((slice_dir / "metadata.json").read_text())["kind"] == "worker"
    # It owns ArchiveBatch: a database of its own, kept from one run to the next, says its spec and its job.
    assert "- Data: a database of its own in each environment, at `$VSO_DATABASE_URL`" in spec
    assert "It keeps its records (ArchiveBatch) in a database of its own" in (slice_dir / "worker/job.py").read_text()
    # The generated test is a contract: red against the skeleton, which the entry point shows too.
    red = run_tests(slice_dir / "tests/unit")
    assert red.failed == 3 and red.passed == 0, red.output_tail
    skeleton = subprocess.run([sys.executable, str(slice_dir / "worker/job.py")], capture_output=True, text=True)
    assert skeleton.returncode == 1 and "not implemented yet" in skeleton.stderr


@pytest.fixture
def built(project, vso):
    """The Fleet project initialised, decomposed, committed and built by the scaffold agent."""
    from vso_dagster.core.decomposition.scaffold_project import init_project

    init_project(project, "Fleet")
    project.master_spec.write_text(SPEC)
    assert vso("decompose").exit_code == 0
    commit(project.root)
    assert vso("orchestrate", "--all").exit_code == 0
    return project


def test_a_worker_is_built_run_in_test_and_in_production_through_the_cli(built, vso):
    project = built
    assert load_state(project)["slices"][ARCHIVER]["status"] == "implemented"

    refused = vso("deploy", "--slice-id", ARCHIVER, "--platform", "hetzner", "--environment", "test")
    assert refused.exit_code == 1 and "is a worker (a job, no HTTP)" in refused.output

    # The job, as an agent would write it, counts its batches in its database.
    job = project.state_dir / f"worktrees/{ARCHIVER}/vertical-slices/{ARCHIVER}/worker/job.py"
    job.write_text(job.read_text().replace(
        '    return {"environment"',
        '    import sqlite3\n'
        '    db = sqlite3.connect(os.environ["VSO_DATABASE_URL"].removeprefix("sqlite:///"))\n'
        '    with db:\n'
        '        db.execute("CREATE TABLE IF NOT EXISTS batches (day TEXT)")\n'
        '        db.execute("INSERT INTO batches VALUES (\'today\')")\n'
        '    return {"batches": db.execute("SELECT COUNT(*) FROM batches").fetchone()[0], "environment"'))
    commit_on_branch(project, ARCHIVER, as_tested=True)
    assert vso("deploy", "--slice-id", ARCHIVER, "--environment", "test").exit_code == 0
    delivered = vso("deploy", "--slice-id", ARCHIVER, "--platform", "planned", "--environment", "both")
    assert delivered.exit_code == 0, delivered.output
    assert "production: the job ran to completion" in " ".join(delivered.output.split())
    for environment, batches in (("test", 2), ("production", 1)):  # each environment's own, kept between runs
        record = deployments(project, environment)[ARCHIVER]
        assert record["kind"] == "job" and record["summary"]["environment"] == environment
        assert record["summary"]["batches"] == batches
        assert record["commit"] == load_state(project)["slices"][ARCHIVER]["tested_commit"]
        assert (project.root / record["log"]).exists()
    assert load_state(project)["slices"][ARCHIVER]["integration"]["passed"] is True
    assert vso("destroy", "--slice-id", ARCHIVER, "--environment", "both").exit_code == 0
    assert ARCHIVER not in deployments(project, "test")


def test_a_job_that_fails_in_test_records_nothing_and_never_reaches_production(built, vso):
    project = built
    job = project.state_dir / f"worktrees/{ARCHIVER}/vertical-slices/{ARCHIVER}/worker/job.py"
    job.write_text(job.read_text().replace('    return {"environment"', '    if environment == "test":\n'
                                                                         '        raise SystemExit(3)\n'
                                                                         '    return {"environment"'))
    commit_on_branch(project, ARCHIVER, as_tested=True)
    result = vso("deploy", "--slice-id", ARCHIVER, "--environment", "both")
    assert result.exit_code == 1 and "the job exited 3 in test" in " ".join(result.output.split())
    assert deployments(project, "test") == {} and deployments(project, "production") == {}


def test_a_master_change_never_touches_a_workers_implementation(built, vso):
    """worker/job.py is the implementation's, as service/main.py is: once the job is merged home, a
    master change regenerates the slice around it (no conflict, no skeleton merged in), and the
    re-build on the new branch starts from the implementation, not from the skeleton."""
    project = built
    assert vso("deploy", "--slice-id", ARCHIVER, "--platform", "planned", "--environment", "both").exit_code == 0
    job = project.slice_dir(ARCHIVER) / "worker/job.py"
    implemented = job.read_text()  # merged home with the production deploy
    assert "NotImplementedError" not in implemented
    project.master_spec.write_text(SPEC.replace("moves old positions to cold storage",
                                                "moves old positions to cold storage and compresses them"))
    commit(project.root, "the archiver compresses too")
    synced = vso("sync")
    assert synced.exit_code == 0, synced.output
    assert load_state(project)["conflicts"] == []
    assert job.read_text() == implemented
    branch = branch_name(ARCHIVER, load_state(project)["slices"][ARCHIVER]["version"])
    log = subprocess.run(["git", "-C", str(project.root), "log", "--format=%s", "--name-only", f"main..{branch}"],
                         capture_output=True, text=True, check=True).stdout
    refreshed = log.split("the slice's spec and tests as the project has them now", 1)[-1].split("\n\n", 1)[0]
    assert "worker/job.py" not in refreshed
    assert vso("destroy", "--slice-id", ARCHIVER, "--environment", "both").exit_code == 0
