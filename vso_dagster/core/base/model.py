"""What a master spec says, as plain frozen dataclasses (parsed once, read everywhere), and the words
every stage uses of a slice: its kind, its platforms, its environments."""

from __future__ import annotations

from dataclasses import dataclass

# Where a slice can be deployed, and in which environments (test first, then production).
ENVIRONMENTS = ("test", "production")
PLATFORM_NAMES = ("local", "hetzner", "modal")
# The platforms a master spec's `Platform:` line may name (local is for VSO's own runs, never planned).
SPEC_PLATFORMS = ("hetzner", "modal")
# The GPUs a component may ask for (`gpu: A10G`): Modal's names. Only Modal offers them; Hetzner
# Cloud has no GPU servers.
GPU_TYPES = ("T4", "L4", "A10G", "A100", "A100-40GB", "A100-80GB", "L40S", "H100", "H200", "B200")
# Not a platform: each slice goes to the platform its plan names (the master spec's platform rule).
PLANNED = "planned"
DEPLOY_TARGETS = (*PLATFORM_NAMES, PLANNED)
# What a slice is: an HTTP service, or a worker (a job that runs to completion; no HTTP).
SERVICE, WORKER = "service", "worker"
# The kinds of team that build slices (templates/agents/teams.toml): a slice's type is inferred from
# its spec, or set by a component's `Team:` line in the master spec or by [team.types] in config.
TEAM_TYPES = ("web-api", "worker", "data-pipeline", "infrastructure", "ml")


@dataclass(frozen=True)
class LatencyBudget:
    percentile: float
    millis: float
    scope: str | None = None  # the words after it that say which requests (latency_scope.py)

    def __str__(self) -> str:
        return f"p{self.percentile:g} < {self.millis:g}ms" + (f" for {self.scope}" if self.scope else "")


@dataclass(frozen=True)
class Component:
    name: str
    description: str
    depends_on: tuple[str, ...]
    platform: str | None
    notes: tuple[str, ...]
    line: int
    gpu: str | None = None  # the GPU its code needs, by Modal's name for it (GPU_TYPES)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    description: str
    tag: str | None
    line: int

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class DataModel:
    name: str
    fields: tuple[str, ...]
    tag: str | None
    line: int


@dataclass(frozen=True)
class Requirement:
    """A functional requirement, or a non-functional one whose `kind` is its label (Performance, ...)."""

    text: str
    kind: str
    tag: str | None
    line: int
    latency: LatencyBudget | None = None


@dataclass(frozen=True)
class MasterSpec:
    path: str
    title: str
    version: str
    authors: tuple[str, ...]
    dependencies: tuple[str, ...]
    last_updated: str | None
    overview: str
    components: tuple[Component, ...]
    data_models: tuple[DataModel, ...]
    endpoints: tuple[Endpoint, ...]
    functional: tuple[Requirement, ...]
    non_functional: tuple[Requirement, ...]
    # sha256 of the spec without its generated "Vertical Slices" section: the master's data version.
    content_hash: str
