"""Which team builds a slice: its type is inferred from its spec, set by a component's `Team:` line
or by config, and brings its roles and its briefing section: in the core, then through `vso
orchestrate` with a team in real tmux and `vso validate`."""

from __future__ import annotations

import subprocess
import sys
import uuid

import dagster as dg
import pytest

from vso_dagster.core.base.config import Config, TeamSettings
from vso_dagster.core.base.errors import SpecError
from vso_dagster.core.base.master_spec import parse_master_spec, read_master_spec
from vso_dagster.core.decomposition.planning import build_plan
from vso_dagster.core.implementation.slice_teams import slice_team

from .conftest import EXAMPLES, init_decompose_commit
from .test_tmux_team import STANDIN, write_config

AUTH = "slice-001-auth"

HEADER = '---\ntitle: "S"\nversion: "1.0.0"\n---\n'


def test_the_marketplace_example_gets_a_team_of_the_kind_each_component_is():
    plan = build_plan(read_master_spec(EXAMPLES / "marketplace.md"), {})
    teams = {s.name: slice_team(s, Config(agent=None)) for s in plan.slices}
    assert {teams[name].type for name in ("Identity", "Payments", "Cart")} == {"web-api"}
    # "ML model inference for personalised product suggestions"
    assert (teams["Recommendations"].type, teams["Recommendations"].reason) == ("ml", "its spec says 'recommendations'")
    assert teams["Recommendations"].roles == ("orchestrator", "developer", "tester", "evaluator")
    # "Batch processing of daily sales figures", but served at GET /analytics/daily-sales: a web API.
    assert teams["Analytics"].type == "web-api"


def plan_of(components: str, rest: str = ""):
    text = HEADER + "## Architecture\n### Components\n" + components + rest
    return build_plan(parse_master_spec(text.encode(), "master-spec.md"), {})


def test_a_team_line_in_the_master_spec_sets_the_type_and_config_overrides_it():
    plan = plan_of("- **Ledger**: money in and out\n  - Team: Infrastructure\n- **Sender**: a nightly job\n"
                   "- **Ingest**: ETL of the partner feeds\n")
    ledger, sender, ingest = plan.slices
    assert slice_team(ledger, Config(agent=None)).type == "infrastructure"
    assert "Team: line" in slice_team(ledger, Config(agent=None)).reason
    assert "Team: Infrastructure" in ledger.notes  # the team reads it in its slice spec too
    assert slice_team(sender, Config(agent=None)).type == "worker"
    assert slice_team(ingest, Config(agent=None)).type == "data-pipeline"

    configured = Config(agent=None, team=TeamSettings(types={"Ledger": "web-api", ingest.slice_id: "ml"}))
    assert slice_team(ledger, configured).type == "web-api" and "[team.types]" in slice_team(ledger, configured).reason
    assert slice_team(ingest, configured).type == "ml"


def test_an_endpoint_makes_an_analytics_component_a_web_api_not_a_pipeline():
    served = plan_of("- **Analytics**: sales analytics\n", "## API Endpoints\n- GET /analytics/daily → Figures\n")
    assert served.slices[0].endpoints and slice_team(served.slices[0], Config(agent=None)).type == "web-api"
    batch = plan_of("- **Analytics**: sales analytics\n")
    assert slice_team(batch.slices[0], Config(agent=None)).type == "data-pipeline"


@pytest.mark.parametrize(("settings", "roles"), [
    (TeamSettings(), ("orchestrator", "developer", "tester", "data_reviewer")),
    (TeamSettings(size="small"), ("orchestrator", "developer")),
    (TeamSettings(size="small", roles=("solo",)), ("solo",)),
    (TeamSettings(roles=("solo",), by_type={"data-pipeline": ("lead", "dev")}), ("lead", "dev")),
])
def test_the_roles_are_the_types_unless_config_names_them(settings, roles):
    [ingest] = plan_of("- **Ingest**: ETL of the partner feeds\n").slices
    assert slice_team(ingest, Config(agent=None, team=settings)).roles == roles


def test_an_unknown_team_type_is_refused_at_its_line():
    with pytest.raises(SpecError) as error:
        plan_of("- **Ledger**: money\n  - Team: quantum\n")
    assert "master-spec.md:8: team type 'quantum' is not one VSO knows; use one of: web-api, worker, " \
           "data-pipeline, infrastructure, ml" in str(error.value)


@pytest.fixture
def socket():
    name = f"vso-test-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)


def test_vso_orchestrate_starts_the_team_the_master_spec_asks_for(todo_project, vso, socket):
    """A component's `Team: ML` line: its slice is built by the ML team, an evaluator in its own
    window, and every role's briefing says what an ML slice needs (a STAND-IN agent in each pane)."""
    spec = todo_project.master_spec
    spec.write_text(spec.read_text().replace("- **Auth**: Sign-up, login and tokens\n",
                                             "- **Auth**: Sign-up, login and tokens\n  - Team: ML\n"))
    init_decompose_commit(todo_project)
    write_config(todo_project, socket, f'["{sys.executable}", "{STANDIN}", "{{role}}", "{{slice_id}}"]')

    built = vso("orchestrate", "--slice-id", AUTH)
    assert built.exit_code == 0 and "implemented" in built.output, built.output
    logs = todo_project.logs_dir / AUTH
    assert sorted(p.name for p in logs.glob("*.log")) == ["developer.log", "evaluator.log", "orchestrator.log",
                                                          "tester.log"]
    said = (todo_project.logs_dir / "implementation.log").read_text()
    assert (f"{AUTH}: team type: ml (the component's Team: line in the master spec); roles: orchestrator, "
            "developer, tester, evaluator") in said
    briefings = todo_project.state_dir / "briefings" / AUTH
    evaluator, developer = (briefings / "evaluator.md").read_text(), (briefings / "developer.md").read_text()
    assert "## What this slice is: ML" in evaluator and "As the evaluator" in evaluator
    assert "## What this slice is: ML" in developer and "As the evaluator" not in developer
    with dg.DagsterInstance.from_config(str(todo_project.dagster_home)) as instance:
        [record] = instance.fetch_materializations(dg.AssetKey("slice_implementation"), limit=1).records
        metadata = record.asset_materialization.metadata
        assert (metadata["team_type"].value, metadata["team_roles"].value) == (
            "ml", ["orchestrator", "developer", "tester", "evaluator"])


def test_vso_validate_refuses_a_team_type_it_does_not_know(todo_project, vso):
    spec = todo_project.master_spec
    spec.write_text(spec.read_text().replace("- **Todos**: Todo items (depends on: Auth)\n",
                                             "- **Todos**: Todo items (depends on: Auth)\n  - Team: frontend\n"))
    refused = vso("validate")
    line = spec.read_text().splitlines().index("  - Team: frontend") + 1
    assert refused.exit_code == 2, refused.output
    assert f"master-spec.md:{line}: team type 'frontend' is not one VSO knows; use one of: web-api, worker, " \
           "data-pipeline, infrastructure, ml" in refused.output
