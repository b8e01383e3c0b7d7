from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..core.base.errors import VSOError
from ..core.base.instance_storage import PASSWORD_ENV, PostgresStorage, storage_from_config
from ..core.base.project import Project
from ..core.base.templating import render
from .code_location import DEFINITIONS_MODULE, LOCATION_NAME

if TYPE_CHECKING:
    import dagster as dg

DEFAULT_MAX_CONCURRENT_RUNS = 4
DEFAULT_IMPLEMENTATION_LIMIT = 2
# On PostgreSQL, Dagster writes the events it batches (a run's planned materializations, those of a
# run over many partitions) this many to a statement instead of one by one: half the time of a
# 1,000-slice decomposition (bench/README.md). SQLite stores them one by one either way. Set for this
# process and what it starts (the daemon, the webserver, their runs); a value the user exported wins.
EVENT_BATCH_ENV, EVENT_BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE", 200


def use_project_instance(project: Project) -> Path:
    """Points this process (and what it starts) at the project's Dagster instance and workspace.

    DAGSTER_HOME defaults to `.slice-orchestrator/dagster` inside the project; a DAGSTER_HOME the
    user exported wins and is used as it is (VSO writes nothing outside the project). The project's
    own dagster.yaml is written once from the template and never overwritten, so edits to it stay.
    """
    exported = os.environ.get("DAGSTER_HOME")
    home = Path(exported).resolve() if exported else project.dagster_home
    if not exported and not instance_config_path(project).exists():
        project.write(instance_config_path(project), instance_config(project, None))
    project_workspace(project)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["VSO_PROJECT_ROOT"] = str(project.root)
    if _on_postgres(home / "dagster.yaml"):
        os.environ.setdefault(EVENT_BATCH_ENV, str(EVENT_BATCH_SIZE))
    return home


def _on_postgres(config_path: Path) -> bool:
    try:
        return _configured_storage(config_path.read_text()) is not None
    except OSError:
        return False


def open_instance(project: Project) -> dg.DagsterInstance:
    """The project's instance, open; one that cannot be opened (a variable its dagster.yaml reads is
    not set, its database cannot be reached) is said as the user's to fix, naming the file."""
    import dagster as dg  # here: `vso init` and `vso ui` need no Dagster in their own process

    home = use_project_instance(project)
    shown = project.relative(home / "dagster.yaml")
    try:
        instance = dg.DagsterInstance.get()
    except dg.DagsterInvalidConfigError as error:
        reasons = [getattr(e, "message", "") for e in getattr(error, "errors", [])] or [str(error)]
        raise VSOError(f"{shown}: {'; '.join(map(_reason, reasons))}") from None
    except _unreachable_database() as error:
        cause = str(getattr(error.__cause__, "orig", error.__cause__) or error).strip().partition("\n")[0]
        raise VSOError(f"{shown}: cannot reach the instance's database: {_one_line(cause)}; "
                       f"start the server, or move the instance with `vso init --storage ...`") from None
    try:
        instance.run_launcher  # noqa: B018 - Dagster builds it at first use, mid-command: build it now
    except Exception as error:  # noqa: BLE001 - whatever the launcher's own code raises is the file's fault
        instance.dispose()
        raise VSOError(f"{shown}: run_launcher: {_launcher_reason(error)}") from None
    return instance


# The extras that bring the run launchers docs/scaling.md configures.
LAUNCHER_EXTRAS = {"dagster_docker": "docker", "dagster_k8s": "k8s"}


def _launcher_reason(error: Exception) -> str:
    if missing := re.search(r"Couldn't import module (\S+)", str(error)):
        module = missing.group(1)
        extra = LAUNCHER_EXTRAS.get(module.split(".")[0])
        fix = f"pip install 'vso-dagster[{extra}]'" if extra else f"install the package that provides {module}"
        return f"cannot import {module}: {fix}"
    return f"{_reason(str(error))}; fix its config (docs/scaling.md shows each launcher's)"


def _unreachable_database() -> tuple[type[BaseException], ...]:
    """What opening an instance on a PostgreSQL server that is down raises (after Dagster's own retries)."""
    try:
        from dagster_postgres.utils import DagsterPostgresException
    except ImportError:
        return ()
    return (DagsterPostgresException,)


def _reason(message: str) -> str:
    """The line of a Dagster error that says what is wrong: the last before its stack trace, without
    the exception's class name."""
    lines = message.split("Stack Trace:")[0].strip().splitlines() or [message]
    return re.sub(r"^[\w.]+(Error|Exception): ", "", _one_line(lines[-1]))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def project_workspace(project: Project) -> Path:
    """`.slice-orchestrator/dagster/workspace.yaml` (beside the instance, unless DAGSTER_HOME is
    exported elsewhere; git ignores that folder), rewritten whenever it is not what VSO would write:
    VSO owns it, and a project moved to another directory gets the new path."""
    path = project.dagster_home / "workspace.yaml"
    text = render("project/workspace.yaml.j2", shown_path=project.relative(path), module_name=DEFINITIONS_MODULE,
                  location_name=LOCATION_NAME, working_directory=str(project.root))
    if not path.exists() or path.read_text() != text:
        project.write(path, text)
    return path


def instance_config_path(project: Project) -> Path:
    return project.dagster_home / "dagster.yaml"


def instance_config(project: Project, storage: PostgresStorage | None) -> str:
    return render("project/dagster.yaml.j2", dagster_home=project.relative(project.dagster_home), postgres=storage,
                  password_env=PASSWORD_ENV, max_concurrent_runs=DEFAULT_MAX_CONCURRENT_RUNS,
                  implementation_limit=DEFAULT_IMPLEMENTATION_LIMIT)


def set_instance_storage(project: Project, storage: PostgresStorage | None) -> bool:
    """`vso init --storage`: rewrites the project's dagster.yaml for that storage, if VSO wrote it and
    nobody has edited it since (an edited one is the user's: VSO says what to change and leaves it).
    A PostgreSQL database is reached before anything is written. Returns whether it wrote."""
    path, shown = instance_config_path(project), project.relative(instance_config_path(project))
    if exported := os.environ.get("DAGSTER_HOME"):
        raise VSOError(f"DAGSTER_HOME is exported ({exported}), so VSO uses that instance as it is: set its "
                       f"storage in {exported}/dagster.yaml, or unset DAGSTER_HOME to use {shown}")
    wanted = instance_config(project, storage)
    if path.exists():
        text = path.read_text()
        if text == wanted:
            return False
        if text != instance_config(project, _configured_storage(text)):
            raise VSOError(f"{shown}: edited since VSO wrote it, so VSO leaves it alone; set its `storage:` "
                           f"yourself (docs/scaling.md shows how), or move the file away and run this again")
    if storage is not None:
        check_postgres(storage)
    project.write(path, wanted)
    return True


def _configured_storage(text: str) -> PostgresStorage | None:
    try:
        return storage_from_config(yaml.safe_load(text))
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError):
        return None  # not VSO's shape: the comparison with VSO's text then fails, as it should


def check_postgres(storage: PostgresStorage) -> None:
    """Connects once, so a wrong URL, a server that is down or a missing database is said now, by
    `vso init`, and not by the first run."""
    try:
        import sqlalchemy
        from dagster_postgres.utils import get_conn_string
    except ImportError:
        raise VSOError("PostgreSQL storage needs VSO's postgres extra (dagster-postgres and its driver): "
                       "pip install 'vso-dagster[postgres]'") from None
    password = storage.password or os.environ.get(PASSWORD_ENV, "")
    url = get_conn_string(username=storage.username, password=password, hostname=storage.hostname,
                          db_name=storage.db_name, port=str(storage.port), params=storage.params)
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.DBAPIError as error:
        reason = _one_line(str(error.orig)) or type(error.orig).__name__
        raise VSOError(f"--postgres-url: cannot connect to {storage.where}: {reason}; start the server, create "
                       f"the database, or fix the URL (a password goes in the URL or in {PASSWORD_ENV})") from None
    finally:
        engine.dispose()
