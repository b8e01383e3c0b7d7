"""Where a project's Dagster instance keeps its runs, events and schedules: SQLite files beside it (the
default, nothing to run) or a PostgreSQL database (what several machines, or a daemon elsewhere, can
share). The instance config never holds a password: it names the variable that does."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import VSOError

STORAGES = ("sqlite", "postgres")
PASSWORD_ENV = "VSO_POSTGRES_PASSWORD"
URL_SHAPE = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"


@dataclass(frozen=True)
class PostgresStorage:
    username: str
    hostname: str
    db_name: str
    port: int = 5432
    params: dict[str, str] = field(default_factory=dict)
    needs_password: bool = False  # then the instance reads it from PASSWORD_ENV
    password: str = field(default="", repr=False, compare=False)  # given at init, to check it; never written

    @property
    def where(self) -> str:
        """How errors and progress name the database: never with its password."""
        return f"{self.username}@{self.hostname}:{self.port}/{self.db_name}"


def parse_postgres_url(url: str) -> PostgresStorage:
    """A `--postgres-url` as the parts Dagster's `postgres_db` config takes; a wrong one is refused
    with what is wrong (the URL is not echoed: it may hold a password)."""
    def refuse(problem: str) -> VSOError:
        return VSOError(f"--postgres-url: {problem}; give {URL_SHAPE}")

    parts = urlsplit(url.strip())
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg2"):
        raise refuse(f"the scheme is {parts.scheme or 'missing'!r}, not postgresql")
    try:
        port = parts.port or 5432
    except ValueError:
        raise refuse("the port is not a number") from None
    db_name = unquote(parts.path.lstrip("/"))
    if not parts.hostname:
        raise refuse("no host")
    if not parts.username:
        raise refuse("no user")
    if not db_name or "/" in db_name:
        raise refuse("no database name")
    return PostgresStorage(username=unquote(parts.username), hostname=parts.hostname, db_name=db_name, port=port,
                           params=dict(parse_qsl(parts.query)), needs_password=bool(parts.password),
                           password=unquote(parts.password or ""))


def storage_from_config(config: dict) -> PostgresStorage | None:
    """The storage an instance config (dagster.yaml, parsed) names: None for SQLite."""
    db = ((config or {}).get("storage") or {}).get("postgres", {}).get("postgres_db")
    if not db:
        return None
    return PostgresStorage(username=db["username"], hostname=db["hostname"], db_name=db["db_name"],
                           port=int(db.get("port", 5432)), params=dict(db.get("params") or {}),
                           needs_password="password" in db)
