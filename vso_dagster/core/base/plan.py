"""The slice plan: which slices there are, in dependency order, and what each is rendered from.

The plan is plain JSON-able data. It is written to `.slice-orchestrator/plan.json`, where a person
can read which slice owns what (and what nobody owns), and it is exactly what the templates render.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property

from .bulk import gc_paused
from .errors import VSOError
from .jsonfile import dumps_by_line
from .project import Project


@dataclass(frozen=True)
class Unassigned:
    kind: str
    label: str
    line: int
    reason: str


@dataclass
class PlannedSlice:
    """Everything a slice's files are rendered from, and nothing else: its hash decides staleness,
    so positions in the master spec (line numbers) stay out and moving text around rewrites nothing."""

    slice_id: str
    number: int
    slug: str
    module: str
    name: str
    description: str
    notes: list[str]
    dependencies: list[str]
    dependency_names: list[str]
    platform: str
    platform_reason: str
    kind: str  # SERVICE or WORKER (model.py)
    kind_reason: str
    endpoints: list[dict]
    models: list[dict]
    functional: list[str]
    non_functional: list[dict]
    latency: dict | None
    gpu: str | None = None  # the GPU it asked for (Modal's name); None: none
    # The services among its dependencies, which it calls over HTTP: {slice_id, name, variable}, where
    # `variable` (VSO_DEP_<SLICE>_URL) holds the URL each one serves at in the same environment.
    calls: list[dict] = field(default_factory=list)
    input_hash: str = ""

    @property
    def owns_data(self) -> bool:
        """A slice whose component owns data models keeps their records in a database of its own in each
        environment (deployment/storage.py), a service and a job alike."""
        return bool(self.models)


@dataclass
class Plan:
    master: dict
    slices: list[PlannedSlice]
    retired: list[str]
    unassigned: list[Unassigned]
    edges: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> str:
        # PlannedSlice holds only JSON-ready values: vars() is asdict() without its deep copy (5× faster).
        body = {"master": self.master, "slices": [vars(s) for s in self.slices], "retired": self.retired,
                "unassigned": [asdict(u) for u in self.unassigned], "edges": self.edges}
        return dumps_by_line(body, expand=("slices",))

    @classmethod
    def from_json(cls, text: str) -> Plan:
        with gc_paused():
            body = json.loads(text)
        return cls(body["master"], [PlannedSlice(**s) for s in body["slices"]], body["retired"],
                   [Unassigned(**u) for u in body["unassigned"]], [(a, b) for a, b in body["edges"]])

    @property
    def slice_ids(self) -> list[str]:
        return [s.slice_id for s in self.slices]

    @cached_property
    def _by_id(self) -> dict[str, PlannedSlice]:
        return {s.slice_id: s for s in self.slices}  # a plan is never changed once built

    def upstream(self, slice_id: str) -> list[str]:
        """Every service the slice calls, directly or through the slices it calls: the dependency paths
        that end at it, in plan order."""
        seen: set[str] = set()
        todo = [call["slice_id"] for call in self.slice(slice_id).calls]
        while todo:
            if (sid := todo.pop()) not in seen:
                seen.add(sid)
                todo.extend(call["slice_id"] for call in self.slice(sid).calls)
        return [sid for sid in self.slice_ids if sid in seen]

    def dependents(self, slice_id: str) -> list[str]:
        """The slices that call this one directly."""
        return [s.slice_id for s in self.slices if any(call["slice_id"] == slice_id for call in s.calls)]

    def slice(self, slice_id: str) -> PlannedSlice:
        if (found := self._by_id.get(slice_id)) is None:
            raise VSOError(f"{slice_id}: not a slice of the current plan; `vso status` lists them")
        return found


def mermaid(slices: list[tuple[str, str]], edges: list[tuple[str, str]], limit: int = 300) -> str:
    """The slice dependency graph as a Mermaid flowchart (arrows point from a dependency);
    `slices` are (slice ID, name) pairs."""
    lines = ["graph TD"]
    for slice_id, name in slices[:limit]:
        lines.append(f'  {slice_id.replace("-", "_")}["{slice_id}: {name}"]')
    shown = {slice_id for slice_id, _ in slices[:limit]}
    for dep, sid in edges:
        if dep in shown and sid in shown:
            lines.append(f"  {dep.replace('-', '_')} --> {sid.replace('-', '_')}")
    if len(slices) > limit:
        lines.append(f'  more["… {len(slices) - limit} more slices"]')
    return "\n".join(lines)


def load_plan(project: Project) -> Plan:
    shown = project.relative(project.plan_file)
    try:
        return Plan.from_json(project.plan_file.read_text())
    except FileNotFoundError:
        raise VSOError(f"{shown}: no slice plan yet; materialize slice_plan first (`vso decompose`)") from None
    except (ValueError, KeyError, TypeError) as exc:
        # VSO writes plan.json whole (temp file, rename): a broken one was edited or damaged by hand.
        raise VSOError(f"{shown}: not a plan VSO wrote ({type(exc).__name__}: {exc}); delete it and run "
                       "`vso decompose` to plan again (the master spec is the source)") from None
