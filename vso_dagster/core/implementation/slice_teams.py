"""Which team builds a slice. Its type (a web API, a worker, a data pipeline, infrastructure, ML)
brings the team's roles and what their briefing says about that kind of work.

The type is, in this order: what config.toml sets for the component or the slice ([team.types]);
what the component's `Team:` line in the master spec says; else what the slice's spec says of it
(its name, description and notes: "model inference" is ML; "ETL", without endpoints, a data
pipeline); else a worker for a slice without endpoints that runs as a job, and a web API for the
rest. Each choice comes with its reason, which the run log shows."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache

from ..base.config import TEAM_SIZES, Config
from ..base.model import WORKER
from ..base.plan import PlannedSlice
from ..base.spec_body import TEAM_NOTE, spec_word
from ..base.templating import templates_dir

# What a slice's spec says that makes it one type rather than another, the first type found winning.
TYPE_WORDS = {
    "ml": ("ml", "machine learning", "model inference", "inference", "training", "embedding", "embeddings",
           "recommendation", "recommendations", "recommender", "classifier", "llm",
           "prediction", "predictions", "forecast", "forecasting"),
    "data-pipeline": ("pipeline", "etl", "elt", "ingest", "ingestion", "analytics", "warehouse", "aggregation",
                      "aggregates", "data lake", "daily sales"),
    "infrastructure": ("infrastructure", "provisioning", "provisions", "dns", "load balancer", "cdn", "cluster",
                       "networking", "vpc", "certificates", "terraform"),
}
# The types a slice with endpoints can be: a model is served over HTTP, a pipeline is not.
SERVED = ("ml",)
_TYPE_PATTERNS = {kind: re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.I)
                  for kind, words in TYPE_WORDS.items()}


@dataclass(frozen=True)
class SliceTeam:
    type: str
    reason: str
    roles: tuple[str, ...]


def slice_team(s: PlannedSlice, config: Config) -> SliceTeam:
    settings = config.team
    kind, reason = slice_type(s, settings.types)
    roles = settings.by_type.get(kind) or settings.roles or type_roles(kind)[:TEAM_SIZES[settings.size]]
    return SliceTeam(kind, reason, roles)


def slice_type(s: PlannedSlice, configured: dict[str, str]) -> tuple[str, str]:
    for key in (s.slice_id, s.name):
        if key in configured:
            return configured[key], f"[team.types] in config.toml names {key!r}"
    for note in s.notes:
        if found := TEAM_NOTE.fullmatch(note):
            return spec_word(found["value"]), "the component's Team: line in the master spec"
    said = " ".join([s.name, s.description, *s.notes])
    for kind, pattern in _TYPE_PATTERNS.items():
        if (kind in SERVED or not s.endpoints) and (found := pattern.search(said)):
            return kind, f"its spec says {found.group(0).lower()!r}"
    if s.kind == WORKER:
        return "worker", f"a worker: {s.kind_reason}"
    return "web-api", "the default: an HTTP service"


def type_roles(kind: str) -> tuple[str, ...]:
    return tuple(_team_templates()[kind]["roles"])


@cache
def _team_templates() -> dict:
    return tomllib.loads((templates_dir() / "agents" / "teams.toml").read_text())
