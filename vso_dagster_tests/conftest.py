from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from vso_dagster.cli.main import cli
from vso_dagster.core.base.instance_storage import PASSWORD_ENV
from vso_dagster.core.base.plan import Plan
from vso_dagster.core.base.project import Project

from .postgres_server import PASSWORD, PostgresServer, postgres_binary, running_postgres

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
AGENTS_BIN = REPO / ".agents/bin"  # where `make agents` links the real agent CLIs

TODO_SPEC = textwrap.dedent("""\
    ---
    title: "Todo"
    version: "1.0.0"
    authors: ["Team"]
    last_updated: 2026-01-01
    ---

    # Todo Master Specification

    ## Overview
    A small todo app.

    ## Requirements
    ### Functional
    - Users can sign up and log in [Auth]
    - A user can create and list todos

    ### Non-Functional
    - Performance: p95 < 200ms for reads
    - Availability: 99.9%

    ## Architecture
    ### Components
    - **Auth**: Sign-up, login and tokens
    - **Todos**: Todo items (depends on: Auth)
    - **Reports**: Weekly summaries. Depends on: Todos

    ### Data Models
    - User: {id, email, password_hash} [Auth]
    - Todo: {id, title, done}

    ## API Endpoints
    - POST /auth/login → Log in
    - POST /todos → Create a todo
    - GET /todos → List todos
    - GET /todos/{todo_id} → Read a todo
    - GET /reports/weekly -> Weekly report

    ## Vertical Slices
    <!-- generated -->
    """)


# The files that take longest, longest first (measured with --durations=0). With `--dist loadfile`
# each worker takes the next file when it is free, so these start first and the suite does not end
# with one worker on a minute-long file while the other has nothing left to do.
LONGEST_FIRST = ("test_platforms.py", "test_journeys.py", "test_sync.py", "test_deploy_waves.py", "test_health.py",
                 "test_deploy_local.py", "test_agent_clis.py", "test_queue_live.py", "test_ui_browser.py",
                 "test_tmux_team.py", "test_dagster_staleness.py", "test_packaging.py", "test_agent_faults.py",
                 "test_code_location_runs.py", "test_runs_elsewhere.py", "test_slice_commands.py",
                 "test_approval.py", "test_faults.py", "test_postgres_storage.py", "test_refine.py",
                 "test_sync_live.py", "test_bad_slice_specs.py", "test_component.py", "test_cli.py",
                 "test_workers.py", "test_slice_files.py", "test_progress_and_json.py", "test_implementation.py",
                 "test_hetzner_module.py", "test_slice_logs.py", "test_corrupt_state.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: at for at, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: in-file order stays


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server per test worker (CI installs Debian's; the tests skip without it)."""
    if not postgres_binary("initdb"):
        pytest.skip("PostgreSQL's initdb is not installed: apt-get install postgresql (.ci/run does)")
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    """The `vso init` arguments for each storage a project's Dagster instance can have; on PostgreSQL,
    a database of the test's own, its password in the environment as a user keeps it."""
    if request.param == "sqlite":
        return ()
    server = request.getfixturevalue("postgres_server")
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return "--storage", "postgres", "--postgres-url", server.url(server.new_database(), password=False)


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root with its content hash and mtime: equal digests mean nothing was written."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """An empty managed project whose Dagster home (set by the CLI) is restored after the test."""
    for name in ("DAGSTER_HOME", "VSO_PROJECT_ROOT"):
        # Set first, so monkeypatch records the value before the test (even none) and puts it back:
        # `vso` commands run in the test process point these at the test's project, deleted after it.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    root = tmp_path / "proj"
    root.mkdir()
    return Project.at(root)


@pytest.fixture
def todo_project(project: Project) -> Project:
    project.master_spec.write_text(TODO_SPEC)
    return project


@pytest.fixture
def vso(project: Project):
    """Runs `vso --project-root <project> ARGS...` in process and returns click's result."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["--project-root", str(project.root), *args], catch_exceptions=True)

    return run


def decompose_example(root: Path, example: str) -> tuple[Project, Plan]:
    """examples/<example>.md decomposed by the core into a new project at root/<example>."""
    from vso_dagster.core.decomposition.decompose import decompose_project

    project = Project.at(root / example)
    project.root.mkdir()
    (project.root / "master-spec.md").write_bytes((EXAMPLES / f"{example}.md").read_bytes())
    return project, decompose_project(project)[0]


def scaling_doc_configs() -> list[dict]:
    """The `dagster.yaml` examples in docs/scaling.md (YAML blocks whose first line says so)."""
    import yaml

    text = (REPO / "docs/scaling.md").read_text()
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(# dagster\.yaml\n.*?)```", text, flags=re.S)]


def commit(root: Path, message: str = "slices") -> None:
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=T", "-c", "user.email=t@t", "commit", "-qm", message],
                   check=True)


def decompose(project: Project) -> list[str]:
    """The core's decomposition steps (no Dagster): plan, then write the stale slices; returns them."""
    from vso_dagster.core.decomposition.decompose import decompose_project

    return decompose_project(project)[1]


def init_decompose_commit(project: Project) -> Project:
    """Initialised, decomposed (by the core) and committed: ready for implementation."""
    from vso_dagster.core.decomposition.scaffold_project import init_project

    init_project(project, "Todo")
    decompose(project)
    commit(project.root)
    return project


@pytest.fixture
def decomposed(todo_project: Project) -> Project:
    decompose(todo_project)
    return todo_project


@pytest.fixture
def committed(todo_project: Project) -> Project:
    """The Todo project initialised, decomposed (by the core) and committed: ready for implementation."""
    return init_decompose_commit(todo_project)


def venv_bin(name: str) -> str:
    return str(Path(os.sys.executable).parent / name)


def user_env() -> dict[str, str]:
    """This environment without the test's Dagster settings: what a user's shell gives `vso`."""
    return {k: v for k, v in os.environ.items() if k not in ("VSO_PROJECT_ROOT", "DAGSTER_HOME")}


def run_vso(cwd: Path, *args: str, extra_env: dict[str, str] | None = None, terminal: bool = False,
            check: bool = False, timeout: int = 600) -> subprocess.CompletedProcess:
    """The real `vso` executable in `cwd`, as a user runs it: none of the test's Dagster environment;
    `terminal`: on a pseudo-terminal (`script` gives it one), as at a shell; `check`: it must succeed."""
    env = user_env() | (extra_env or {})
    argv = [venv_bin("vso"), *args]
    if terminal:
        argv = ["script", "--quiet", "--return", "--command", " ".join(argv), "/dev/null"]
        env["COLUMNS"] = "160"
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, (args, done.stdout[-2000:] + done.stderr[-3000:])
    return done


def commit_on_branch(project: Project, slice_id: str, *, as_tested: bool = False) -> str:
    """Commits what a test changed in the slice's worktree (as a team would) and runs its unit tests
    there, so the new head is the tested commit a deploy ships. `as_tested`: record it as tested
    whatever the unit tests say: a broken service the test wants to take as far as the integration
    gate (the unit tests would stop it sooner)."""
    from vso_dagster.core.base.state import mark_implemented
    from vso_dagster.core.base.worktrees import commit_all, existing_worktree, head
    from vso_dagster.core.implementation.implement import record_tests, unit_tests

    worktree = existing_worktree(project, slice_id)
    commit_all(worktree, f"{slice_id}: changed by a test")
    if as_tested:
        mark_implemented(project, slice_id, head(worktree))
    else:
        assert record_tests(project, worktree, unit_tests(project, worktree)), "the unit tests did not pass"
    return head(worktree)


def defined(*names: str) -> list:
    """definitions.py's assets and checks by name, as defined: without the definitions' own resource
    (which `resolve_assets_def` would bind), so a test gives them its project's."""
    import dagster as dg

    from vso_dagster.definitions import defs

    def name_of(definition: dg.AssetsDefinition) -> set[str]:
        return {k.to_user_string() for k in definition.keys} | {k.name for k in definition.check_keys}

    definitions = [d for d in [*defs.assets, *defs.asset_checks] if isinstance(d, dg.AssetsDefinition)]
    return [next(d for d in definitions if name in name_of(d)) for name in names]


def served(project: Project, prefix: str = ""):
    """VSO's definitions as a code location serves them for a test project: definitions.py's, or,
    with a prefix, what the Component builds. Returns them, the Naming and the tick's resources."""
    from vso_dagster.assembly import assemble
    from vso_dagster.definitions import defs
    from vso_dagster.lib.naming import Naming
    from vso_dagster.lib.resources import VSOProject

    names, vso = Naming(prefix), VSOProject(root=str(project.root))
    definitions = assemble(names, vso, timezone="UTC") if prefix else defs
    return definitions, names, {names.resource: vso}


def sensor_tick(name: str, project: Project, instance, cursor: str | None = None, prefix: str = ""):
    """One tick of a VSO sensor (its plain name) on a test project, evaluated as the daemon evaluates
    it: its run requests, skip message and cursor."""
    import dagster as dg

    definitions, names, resources = served(project, prefix)
    # With the instance's ref, partitions the tick itself adds count for its run requests.
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions,
                                      instance_ref=instance.get_ref() if instance.is_persistent else None,
                                      resources=resources)
    with dg.partition_loading_context(dynamic_partitions_store=instance):  # as the daemon's code server does
        return definitions.resolve_sensor_def(names.name(name)).evaluate_tick(context)


def schedule_tick(name: str, project: Project, instance, when, prefix: str = ""):
    """One tick of a VSO schedule on a test project at `when`, evaluated as the daemon evaluates it."""
    import dagster as dg

    definitions, names, resources = served(project, prefix)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                        repository_def=definitions.get_repository_def(), resources=resources)
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        return definitions.resolve_schedule_def(names.name(name)).evaluate_tick(context)


def real_agent_cli(name: str) -> Path:
    """The real agent CLI that `make agents` installs (CI runs it); the test skips without it."""
    path = AGENTS_BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in {AGENTS_BIN}: run `make agents` (npm and pip, from the registries)")
    return path


def team_of(agent: str, project: Project, tmp_path: Path, monkeypatch, agent_keys: str = "", limit_keys: str = "",
            mode: str = "batch", roles: tuple[str, ...] = ("orchestrator", "developer")) -> Path:
    """The real CLI `agent` in `mode`, a team of `roles`, the user's home in the test's directory.
    Returns that home."""
    cli = real_agent_cli(agent)
    home = tmp_path / "agent-home"
    home.mkdir()
    monkeypatch.setenv("PATH", f"{cli.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    (project.state_dir / "config.toml").write_text(
        f'[agent]\nname = "{agent}"\nmode = "{mode}"\n{agent_keys}[team]\nroles = {json.dumps(list(roles))}\n'
        f"[limits]\ntimeout_minutes = 5\n{limit_keys}")
    return home


def claude_against(model, home: Path, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", model.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "standin-key")
    monkeypatch.setenv("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")


def aider_against(model, home: Path, monkeypatch) -> None:
    """Aider reaches an OpenAI-compatible model by its base URL; its model and key come from the
    environment, and its price list stays local (no network here)."""
    monkeypatch.setenv("OPENAI_API_BASE", f"{model.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "standin-key")
    monkeypatch.setenv("AIDER_MODEL", "openai/standin")
    monkeypatch.setenv("AIDER_SHOW_MODEL_WARNINGS", "false")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # Aider commits its edits as the git user, whom a user's ~/.gitconfig names.
    (home / ".gitconfig").write_text("[user]\n\tname = Aider User\n\temail = aider@localhost\n")


def codex_against(model, home: Path, monkeypatch) -> None:
    """Codex reaches a model through a provider in its own config: $CODEX_HOME/config.toml."""
    codex_home = home / ".codex"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(
        'model_provider = "standin"\n[model_providers.standin]\nname = "standin"\n'
        f'base_url = "{model.url}/v1"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n')
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    monkeypatch.setenv("OPENAI_API_KEY", "standin-key")
