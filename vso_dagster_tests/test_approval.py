"""Approval before production ([deploy] require_approval), through the real `vso` and `dagster`
executables: a slice that passed its integration tests waits, a rejection says why and keeps it out,
`vso approve` (or a run launched in Dagster with `approved_by`, as from the UI's launchpad) lets it
through, and an approval holds for the test deployment it was given for, not the next one."""

from __future__ import annotations

import json
import subprocess
import urllib.request

from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.state import load_state
from vso_dagster.core.deployment.local import destroy_local
from vso_dagster.core.implementation.implement import implement_slice

from .conftest import run_vso, user_env, venv_bin

AUTH = "slice-001-auth"


def status_of(project) -> str:
    table = run_vso(project.root, "status", "--no-pager", check=True).stdout
    return next(line.split("│")[4].strip() for line in table.splitlines() if line.startswith(f"│ {AUTH}"))


def test_production_waits_for_a_persons_word_and_the_word_holds_for_one_test_deployment(committed):
    early = run_vso(committed.root, "approve", "auth")
    assert early.returncode == 2 and "production needs no approval here; set [deploy] require_approval" in early.stderr
    config = committed.state_dir / "config.toml"
    config.write_text(config.read_text().replace("require_approval = false", "require_approval = true"))
    nothing = run_vso(committed.root, "approve", "auth")
    assert nothing.returncode == 2 and "nothing awaits approval" in nothing.stderr
    implement_slice(committed, load_plan(committed), AUTH)
    try:
        waiting = run_vso(committed.root, "deploy", "--slice-id", "auth")
        assert waiting.returncode == 0 and "awaiting approval: `vso approve slice-001-auth`" in waiting.stdout, \
            waiting.stdout + waiting.stderr
        assert status_of(committed) == "tested (awaiting approval)"
        assert load_state(committed)["deployments"]["production"]["slices_deployed"] == []

        run_vso(committed.root, "reject", "auth", "--reason", "copy not final", "--by", "ana", check=True)
        assert status_of(committed) == "tested (rejected by ana: copy not final)"
        kept_out = run_vso(committed.root, "deploy", "--slice-id", "auth", "--environment", "production")
        assert "rejected by ana: copy not final" in kept_out.stdout, kept_out.stdout

        approved = run_vso(committed.root, "approve", "auth", "--by", "bo")
        assert approved.returncode == 0 and "slice-001-auth: approved by bo." in approved.stdout, approved.stdout
        production = load_state(committed)["deployments"]["production"]["endpoints"][AUTH]
        with urllib.request.urlopen(f"{production['url']}/health", timeout=10) as answer:
            assert answer.status == 200
        shown = json.loads(run_vso(committed.root, "show", "auth", "--json", check=True).stdout)
        assert (shown["status"], shown["approval"]) == ("deployed", "approved by bo")

        # A new test deployment passes its tests: the word given for the last one does not carry over.
        run_vso(committed.root, "deploy", "--slice-id", "auth", "--environment", "test", check=True)
        run_vso(committed.root, "test", "auth", "--environment", "test", check=True)
        assert status_of(committed) == "deployed (awaiting approval)"
        # In Dagster (the launchpad's config, here through `dagster asset materialize`): approved_by.
        env = user_env() | {"DAGSTER_HOME": str(committed.dagster_home), "VSO_PROJECT_ROOT": str(committed.root)}
        config_json = json.dumps({"ops": {"production_deployment": {"config": {"approved_by": "cy"}}}})
        launched = subprocess.run([venv_bin("dagster"), "asset", "materialize", "-m", "vso_dagster.definitions",
                                   "--select", "production_deployment", "--partition", AUTH,
                                   "--config-json", config_json], cwd=committed.root, env=env,
                                  capture_output=True, text=True, timeout=300)
        assert launched.returncode == 0, launched.stderr[-3000:]
        assert status_of(committed) == "deployed (approved by cy)"
        again = load_state(committed)["deployments"]["production"]["endpoints"][AUTH]
        assert again["id"] != production["id"]  # production now serves the newly approved deployment
    finally:
        for env_name in ("test", "production"):
            destroy_local(committed, AUTH, env_name)

