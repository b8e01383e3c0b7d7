"""A project whose Dagster instance lives in PostgreSQL (`vso init --storage postgres`), driven by the
real `vso` command against a real server: everything Dagster records goes there and nothing into
SQLite, the password stays out of every file, and each way it can go wrong is said as the user's to fix.
(Through the `storage` fixture, the live queue test runs on PostgreSQL and the live git-sensor test
on SQLite.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from vso_dagster.core.base.instance_storage import PASSWORD_ENV, parse_postgres_url
from vso_dagster.core.base.project import Project
from vso_dagster.core.base.state import load_state
from vso_dagster.lib.instance import (
    EVENT_BATCH_ENV,
    EVENT_BATCH_SIZE,
    instance_config,
    set_instance_storage,
    use_project_instance,
)
from vso_dagster.lib.naming import Naming
from vso_dagster.lib.partitions import ensure_slice_partitions

from .conftest import EXAMPLES, commit, run_vso, scaling_doc_configs
from .postgres_server import PASSWORD

SLICES = {"slice-001-auth", "slice-002-todos", "slice-003-notifications"}


def every_file_text(root: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)


def test_a_project_on_postgresql_is_decomposed_built_and_synced_with_nothing_in_sqlite(project, postgres_server):
    database = postgres_server.new_database()
    init = run_vso(project.root, "init", "--storage", "postgres", "--postgres-url", postgres_server.url(database))
    assert init.returncode == 0, init.stderr
    assert f"Dagster storage: PostgreSQL vso@127.0.0.1:{postgres_server.port}/{database}" in init.stdout
    assert PASSWORD_ENV in init.stdout  # where the password must be, since it is not written
    instance_config = (project.dagster_home / "dagster.yaml").read_text()
    assert PASSWORD not in instance_config and f"env: {PASSWORD_ENV}" in instance_config

    (project.master_spec).write_text((EXAMPLES / "todo-small.md").read_text())
    keyed = {PASSWORD_ENV: PASSWORD}
    run_vso(project.root, "decompose", extra_env=keyed, check=True)
    commit(project.root, "slices")
    run_vso(project.root, "orchestrate", "--slice-id", "slice-001-auth", extra_env=keyed, check=True)
    text = project.master_spec.read_text()
    project.master_spec.write_text(text.replace("Sign-up, login", "Sign-up, login, logout", 1))
    commit(project.root, "auth learns to log out")
    synced = run_vso(project.root, "sync", extra_env=keyed, check=True)
    assert "slice-001-auth" in synced.stdout

    slices = load_state(project)["slices"]
    assert {sid: e["status"] for sid, e in slices.items()} == {"slice-001-auth": "implemented",
                                                               "slice-002-todos": "draft",
                                                               "slice-003-notifications": "draft"}
    assert slices["slice-001-auth"]["version"] == "1.0.1"
    # Dagster's records are in the database: the slices' partitions and every run, each a success.
    partitions = postgres_server.sql(database, "SELECT partition FROM dynamic_partitions WHERE partitions_def_name"
                                               " = 'slices'")
    assert {key for (key,) in partitions} == SLICES
    runs = postgres_server.sql(database, "SELECT pipeline_name, status FROM runs")
    assert {"vso_implement", "vso_slice_sync"} <= {job for job, _ in runs}
    assert {status for _, status in runs} == {"SUCCESS"}
    # ... and not in SQLite files beside the instance.
    assert not list(project.dagster_home.rglob("*.db"))
    assert PASSWORD not in every_file_text(project.root)


def test_a_database_that_cannot_be_reached_is_refused_before_anything_is_written(project, postgres_server):
    for url, why in [(postgres_server.url("postgres").replace(PASSWORD, "wrong"), "password authentication failed"),
                     (postgres_server.url("no_such_database"), 'database "no_such_database" does not exist')]:
        refused = run_vso(project.root, "init", "--storage", "postgres", "--postgres-url", url)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.startswith(f"--postgres-url: cannot connect to vso@127.0.0.1:{postgres_server.port}/")
        assert why in refused.stderr and "Traceback" not in refused.stderr
        assert PASSWORD not in refused.stderr
    assert list(project.root.iterdir()) == []


@pytest.mark.parametrize("url, problem", [
    ("mysql://vso@db/app", "the scheme is 'mysql', not postgresql"),
    ("postgresql://vso:secret@db:port/app", "the port is not a number"),
    ("postgresql://vso@db/", "no database name"),
    ("postgresql://db/app", "no user"),
])
def test_a_malformed_url_is_refused_saying_what_is_wrong_and_never_echoed(project, vso, url, problem):
    refused = vso("init", "--storage", "postgres", "--postgres-url", url)
    assert refused.exit_code == 2
    assert refused.output == (f"--postgres-url: {problem}; give postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE\n")
    assert list(project.root.iterdir()) == []


def test_an_unset_password_variable_is_named_with_the_instance_file(project, postgres_server):
    url = postgres_server.url(postgres_server.new_database())
    run_vso(project.root, "init", "--storage", "postgres", "--postgres-url", url, check=True)
    (project.master_spec).write_text((EXAMPLES / "todo-small.md").read_text())
    failed = run_vso(project.root, "decompose")
    assert failed.returncode == 2
    assert failed.stderr.strip() == (f".slice-orchestrator/dagster/dagster.yaml: You have attempted to fetch the "
                                     f'environment variable "{PASSWORD_ENV}" which is not set. In order for this '
                                     f"execution to succeed it must be set in this environment.")


def test_vso_moves_its_own_instance_config_and_leaves_an_edited_one_alone(project, postgres_server):
    database = postgres_server.new_database()
    url = postgres_server.url(database)
    run_vso(project.root, "init", "--storage", "sqlite", check=True)
    config = project.dagster_home / "dagster.yaml"
    assert "storage:" not in config.read_text()  # SQLite is Dagster's default
    moved = run_vso(project.root, "init", "--storage", "postgres", "--postgres-url", url, check=True)
    assert "wrote .slice-orchestrator/dagster/dagster.yaml (storage: postgres)" in moved.stdout
    assert parse_postgres_url(url).db_name in config.read_text()
    again = run_vso(project.root, "init", "--storage", "postgres", "--postgres-url", url, check=True)
    assert "Nothing to do" in again.stdout

    config.write_text(config.read_text().replace("max_concurrent_runs: 4", "max_concurrent_runs: 8"))
    edited = config.read_text()
    refused = run_vso(project.root, "init", "--storage", "sqlite")
    assert refused.returncode == 2
    assert refused.stderr.startswith(".slice-orchestrator/dagster/dagster.yaml: edited since VSO wrote it")
    assert config.read_text() == edited


def test_without_the_postgres_extra_init_says_what_to_install(project, postgres_server, vso, monkeypatch):
    monkeypatch.setitem(sys.modules, "dagster_postgres.utils", None)  # as in an install without the extra
    refused = vso("init", "--storage", "postgres", "--postgres-url", postgres_server.url("postgres"))
    assert refused.exit_code == 2
    assert "pip install 'vso-dagster[postgres]'" in refused.output
    assert list(project.root.iterdir()) == []


def test_an_exported_dagster_home_is_not_moved(project, vso, monkeypatch, tmp_path):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    refused = vso("init", "--storage", "postgres", "--postgres-url", "postgresql://vso@127.0.0.1/app")
    assert refused.exit_code == 2
    assert refused.output.startswith(f"DAGSTER_HOME is exported ({tmp_path / 'elsewhere'})")


def test_the_storage_docs_scaling_shows_is_what_vso_writes_and_it_opens(project, postgres_server, monkeypatch,
                                                                        tmp_path):
    [shown] = [c for c in scaling_doc_configs() if "storage" in c]
    written = yaml.safe_load(instance_config(project, parse_postgres_url(
        "postgresql://vso:x@db.internal:5432/vso")))
    assert shown["storage"] == written["storage"]

    # The same configuration, pointed at the test's server, opens and records runs.
    database = postgres_server.new_database()
    shown["storage"]["postgres"]["postgres_db"].update(hostname="127.0.0.1", port=postgres_server.port,
                                                       db_name=database)
    (tmp_path / "home").mkdir()
    (tmp_path / "home/dagster.yaml").write_text(yaml.safe_dump(shown))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        instance.add_dynamic_partitions("slices", ["slice-001-a"])
    assert postgres_server.sql(database, "SELECT partition FROM dynamic_partitions") == [("slice-001-a",)]


def test_on_postgresql_dagsters_event_writes_are_batched_unless_the_user_says_otherwise(project, postgres_server,
                                                                                     monkeypatch):
    """What a `vso` command, and the daemon and webserver it starts, write events with."""
    monkeypatch.setenv(EVENT_BATCH_ENV, "")
    monkeypatch.delenv(EVENT_BATCH_ENV)  # put back as it was after the test
    use_project_instance(project)
    assert EVENT_BATCH_ENV not in os.environ  # SQLite stores events one by one anyway
    monkeypatch.delenv("DAGSTER_HOME")  # as a new `vso` command finds it
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    set_instance_storage(project, parse_postgres_url(postgres_server.url(postgres_server.new_database())))
    use_project_instance(project)
    assert os.environ[EVENT_BATCH_ENV] == str(EVENT_BATCH_SIZE)
    monkeypatch.setenv(EVENT_BATCH_ENV, "50")
    use_project_instance(project)
    assert os.environ[EVENT_BATCH_ENV] == "50"


@pytest.mark.parametrize("storage_kind", ["sqlite", "postgres"])
def test_forty_thousand_new_slices_get_their_partitions(storage_kind, request, tmp_path, monkeypatch):
    """A plan far past 10,000 slices gets every partition, in batches, on each storage. (A decompose of
    40,000 components would take many minutes; this is the call it makes.)"""
    home = tmp_path / "home"
    home.mkdir()
    if storage_kind == "postgres":
        postgres_server = request.getfixturevalue("postgres_server")
        database = postgres_server.new_database()
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
        storage = parse_postgres_url(postgres_server.url(database))
        (home / "dagster.yaml").write_text(instance_config(Project.at(tmp_path), storage))
    keys = [f"slice-{n:03d}-part{n}" for n in range(1, 40_001)]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert ensure_slice_partitions(instance, Naming().slices, keys[:10]) == keys[:10]
        assert ensure_slice_partitions(instance, Naming().slices, keys) == keys[10:]
        assert len(instance.get_dynamic_partitions(Naming().slices.name)) == 40_000
