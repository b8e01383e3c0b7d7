"""The `scaffold` agent: a deterministic code generator, not an AI. It writes a working in-memory
service for a slice from its planned endpoints and models, so the whole pipeline runs (and the
generated contract tests pass) with no model at all. `make demo` uses it."""

from __future__ import annotations

from dataclasses import dataclass

from ..base.model import WORKER
from ..base.plan import PlannedSlice
from ..base.templating import render


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    kind: str
    collection: str
    param: str | None


def routes(s: PlannedSlice) -> list[Route]:
    return [_route(ep["method"], ep["path"], ep["params"]) for ep in s.endpoints]


def _route(method: str, path: str, params: list[str]) -> Route:
    """What an endpoint does, from its shape: /things is a collection, /things/{id} one record of it,
    /things/{id}/verb an action on one record."""
    parts = path.rstrip("/").split("/")
    last = parts[-1]
    if last.startswith("{"):
        name, param = "/".join(parts[:-1]) or "/", params[-1]
        kind = {"GET": "read", "HEAD": "read", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}.get(
            method, "act")
    elif params:
        item = next(i for i in range(len(parts) - 1, -1, -1) if parts[i].startswith("{"))
        name, param, kind = "/".join(parts[:item]) or "/", parts[item][1:-1], "act"
    else:
        name, param = path.rstrip("/") or "/", None
        kind = {"GET": "list", "HEAD": "list", "POST": "create", "PUT": "create", "DELETE": "clear"}.get(
            method, "clear" if method == "OPTIONS" else "create")
    if method == "POST" and kind in ("read", "replace", "update", "delete"):
        kind = "act"
    return Route(method, path, kind, name, param)


def implement(s: PlannedSlice) -> str:
    """The content of the slice's implementation file (slice_files.implementation_file)."""
    if s.kind == WORKER:
        return render("agents/scaffold_job.py.j2", s=s)
    return render("agents/scaffold_main.py.j2", s=s, routes=routes(s))
