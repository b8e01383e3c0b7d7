"""Which endpoints a latency budget is about, from the words after it: `p95 < 200ms for every read`,
`p99 < 800ms for checkout`, `p95 < 100ms for GET /todos and POST /todos`. A performance test that
loads other endpoints than those would measure something the requirement does not name.

The rule, in order:
1. Endpoints written out (`GET /todos`, or a bare `/todos` for each method on it) are the scope.
2. Otherwise the scope's words: `read(s)`/`GET` means the GET endpoints, `write(s)` the POST, PUT,
   PATCH and DELETE ones, `request(s)`/`endpoint(s)`/`call(s)` all of them. A word that is a path
   segment somewhere in the spec names the endpoints with that segment (`checkout` -> POST
   /orders/checkout), narrowed by the general words beside it (`todo reads` -> the GETs under
   /todos). Other words only describe (`for arrival predictions`).
3. No scope, or one of description only, means every read: the requests users wait on.
/health, VSO's own probe, is selected only by a scope that names it.
A scope of rule 1, or of rule 2 with a segment word, is *named*: it is about the slices whose
endpoints it selects, and no others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .names import match_key

READS, WRITES = ("GET", "HEAD"), ("POST", "PUT", "PATCH", "DELETE")
_GENERAL = {
    "read": READS, "reads": READS, "get": READS, "gets": READS, "lookup": READS, "lookups": READS,
    "query": READS, "queries": READS,
    "write": WRITES, "writes": WRITES, "update": WRITES, "updates": WRITES,
    "request": (), "requests": (), "endpoint": (), "endpoints": (), "call": (), "calls": (),
}
# Words that say how much, not what: "for every read", "on all of the endpoints".
_FILLER = {"every", "each", "all", "any", "the", "a", "an", "of", "and", "or", "its", "their", "our", "to",
           "in", "on", "http", "api", "user", "users", "facing", "single", "one"}
_EXPLICIT = re.compile(r"(?:\b(?P<method>GET|HEAD|POST|PUT|PATCH|DELETE)\s+)?(?<![\w/])(?P<path>/[^\s,;()]*)")
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_PARAM = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class Selection:
    endpoints: list[tuple[str, str]]  # (method, path), in the order given
    named: bool  # the scope names endpoints of its own (rule 1, or a word of rule 2)


def select(scope: str | None, endpoints: list[tuple[str, str]], vocabulary: set[str]) -> Selection:
    """The (method, path) pairs of `endpoints` that a budget with this scope is about. `vocabulary`
    is the spec's path segments (segment_keys of every endpoint)."""
    scope = (scope or "").strip()
    if explicit := [(m["method"], m["path"].rstrip("/") or "/") for m in _EXPLICIT.finditer(scope)]:
        return Selection([ep for ep in endpoints if any(
            (method is None or ep[0] == method) and ep[1].rstrip("/") == path for method, path in explicit)], True)
    words = [w.lower() for w in _WORDS.findall(scope) if w.lower() not in _FILLER]
    own = {match_key(w) for w in words if w not in _GENERAL} & vocabulary
    general = [w for w in words if w in _GENERAL]
    # An empty set of methods is every method: `for requests`, or `for checkout` alone.
    methods = {m for w in general for m in _GENERAL[w]} if general or own else set(READS)
    return Selection([ep for ep in endpoints if (not methods or ep[0] in methods) and (
        own & segment_keys(ep[1]) if own else ep[1].rstrip("/") != "/health")], bool(own))


def segment_keys(path: str) -> set[str]:
    return {match_key(segment) for segment in path.split("/") if segment and not _PARAM.fullmatch(segment)}
