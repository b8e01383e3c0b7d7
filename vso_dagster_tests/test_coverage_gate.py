"""The coverage gate: a slice's unit tests must run [tests] min_coverage of its implementation
(coverage.py line coverage of service/ or worker/), or the slice is not built. Through `vso test`,
with the figure in the check's metadata, `vso status` and `vso show`."""

from __future__ import annotations

import json
import subprocess

import dagster as dg

from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state
from vso_dagster.core.implementation.implement import implement_slice

from .conftest import run_vso

AUTH = "slice-001-auth"
# Code no test reaches: enough of it to take the scaffold's implementation below 80%.
UNTESTED = "\n\ndef audit(event: str) -> str:\n" + "".join(f"    step_{i} = event * {i}\n" for i in range(40)) + \
    "    return step_0\n"


def test_tests_that_leave_the_implementation_untried_do_not_build_the_slice(committed):
    implement_slice(committed, load_plan(committed), AUTH)
    built = load_state(committed)["slices"][AUTH]
    assert built["coverage"] >= 80  # what the scaffold agent writes meets the default bar
    worktree = committed.state_dir / "worktrees" / AUTH
    main = worktree / "vertical-slices" / AUTH / "service" / "main.py"
    main.write_text(main.read_text() + UNTESTED)
    subprocess.run(["git", "-C", str(worktree), "commit", "-qam", "untested code"], check=True)

    refused = run_vso(committed.root, "test", "auth", "--json")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    [outcome] = json.loads(refused.stdout)
    assert outcome["result"] == "failed" and "% line coverage" in outcome["detail"]
    assert "is below [tests] min_coverage = 80%: test more of the implementation" in outcome["detail"]
    assert load_state(committed)["slices"][AUTH]["tested_commit"] == built["tested_commit"]  # not this head

    with dg.DagsterInstance.from_config(str(committed.dagster_home)) as instance:
        [event] = instance.all_logs(outcome["run_id"], of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        check = event.dagster_event.event_specific_data
        assert not check.passed and check.metadata["coverage_percent"].value < 80
        assert check.metadata["min_coverage_percent"].value == 80

    config = committed.state_dir / "config.toml"
    config.write_text(config.read_text().replace("min_coverage = 80", "min_coverage = 0"))
    assert run_vso(committed.root, "test", "auth").returncode == 0  # no minimum: green tests build it
    now = load_state(committed)["slices"][AUTH]
    assert now["tested_commit"] != built["tested_commit"] and now["coverage"] < 80
    table = run_vso(committed.root, "status", "--no-pager", check=True).stdout
    assert f"│ {now['coverage']:.0f}%" in next(line for line in table.splitlines() if AUTH in line)
    shown = json.loads(run_vso(committed.root, "show", "auth", "--json", check=True).stdout)
    assert shown["coverage"] == now["coverage"]
