"""A real PostgreSQL server for the tests that run VSO's Dagster instance on PostgreSQL: initdb and
pg_ctl in a temporary directory, on a loopback port, one server per test worker and a fresh database
per test. Connections over TCP need a password (scram-sha-256), so the path by which VSO keeps it
out of dagster.yaml is the one the tests take."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vso_dagster.core.deployment.local import free_port

USER, PASSWORD = "vso", "pg-test-password"
_databases = itertools.count(1)


@dataclass(frozen=True)
class PostgresServer:
    port: int
    directory: Path

    def url(self, database: str, password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def sql(self, database: str, statement: str) -> list[tuple]:
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.url(database), poolclass=sqlalchemy.pool.NullPool,
                                          isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                result = connection.execute(sqlalchemy.text(statement))
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def new_database(self) -> str:
        name = f"vso_test_{os.getpid()}_{next(_databases)}"
        self.sql("postgres", f"CREATE DATABASE {name}")
        return name


def postgres_binary(name: str) -> str | None:
    """Debian puts the server's programs under /usr/lib/postgresql/<version>/bin, off PATH."""
    return shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                      None)


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    initdb, pg_ctl = postgres_binary("initdb"), postgres_binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise FileNotFoundError("PostgreSQL's initdb and pg_ctl are not installed: apt-get install postgresql")
    directory = Path(tempfile.mkdtemp(prefix="vso-postgres-"))
    # The server refuses to run as root: as root, it runs as Debian's postgres user, in a folder it owns.
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    (directory / "pw").write_text(PASSWORD)
    if as_server:
        shutil.chown(directory, "postgres")
        shutil.chown(directory / "pw", "postgres")
    data, port = directory / "data", free_port()

    def run(*argv: str) -> None:
        subprocess.run([*as_server, *argv], check=True, capture_output=True, timeout=120)

    run(initdb, "-D", str(data), "-U", USER, f"--pwfile={directory / 'pw'}", "--auth-host=scram-sha-256",
        "--auth-local=trust")
    run(pg_ctl, "-D", str(data), "-l", str(directory / "server.log"), "-w", "-o",
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
    try:
        yield PostgresServer(port, directory)
    finally:
        subprocess.run([*as_server, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True,
                       timeout=60)
        shutil.rmtree(directory, ignore_errors=True)
