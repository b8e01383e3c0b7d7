"""Planning: a parsed master spec becomes an ordered plan of vertical slices, with IDs that stay
stable across runs and every item of the spec given to the slice that owns it."""

from __future__ import annotations

import hashlib
import json
import re

import networkx as nx

from ..base.errors import Diagnostic, SpecError
from ..base.latency_scope import Selection, segment_keys, select
from ..base.model import SERVICE, WORKER, Component, DataModel, Endpoint, MasterSpec, Requirement
from ..base.names import component_keys, dependency_variable, match_key, python_identifier, slugify
from ..base.plan import Plan, PlannedSlice, Unassigned

# A component is compute-heavy, and so goes to Modal unless its platform is explicit, when its name
# or description mentions one of these (whole words, any case). docs/master-spec.md lists them.
COMPUTE_HEAVY_WORDS = (
    "ml", "machine learning", "ai", "llm", "gpu", "inference", "training", "embedding", "embeddings",
    "recommendation", "recommendations", "recommender", "transcoding", "video processing",
    "image processing", "vector search", "batch processing", "compute-intensive", "compute-heavy",
)
_COMPUTE_HEAVY = re.compile(r"\b(" + "|".join(re.escape(w) for w in COMPUTE_HEAVY_WORDS) + r")\b", re.I)
# A component with no endpoints whose name or description says one of these is a worker: a job
# that runs to completion (on a schedule, or on what a queue brings), not an HTTP service.
WORKER_WORDS = (
    "job", "jobs", "batch", "worker", "workers", "consumer", "consumers", "cron", "nightly", "hourly", "daily",
    "weekly", "scheduled", "scheduler", "background", "no http api", "no api",
)
_WORKER = re.compile(r"\b(" + "|".join(re.escape(w) for w in WORKER_WORDS) + r")\b", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# The words of a model's name, CamelCase split too: "CartItem", "Cart_Item" and "Cart Item" -> Cart, Item.
_NAME_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_PATH_SKIP = re.compile(r"api|v\d+|\{.*\}")
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NOT_IDENTIFIER = re.compile(r"[^a-z0-9]+")
DEFAULT_PLATFORM = "hetzner"
WORKER_PLATFORM = "local"
# A latency requirement and the endpoints it is about in one slice; (None, None) when none applies.
_Budget = tuple[Requirement, Selection] | tuple[None, None]


def build_plan(spec: MasterSpec, known_slices: dict[str, dict], generator: str = "") -> Plan:
    """`known_slices` is state.json's `slices`: it keeps IDs stable across runs."""
    errors: list[Diagnostic] = []
    by_name = {c.name: c for c in spec.components}
    graph = _dependency_graph(spec, by_name, errors)
    _raise(errors)
    order = _order(spec, graph)
    ids = assign_slice_ids([by_name[n].name for n in order], known_slices)

    owners = _Owners(spec, by_name, errors)
    _raise(errors)
    _raise(_budget_scope_errors(owners))
    slices = [
        _planned_slice(spec, by_name[name], ids, owners, graph) for name in order
    ]
    for s in slices:
        # Only the master's major version is an input: a minor or patch bump of the master (which
        # master_sync makes itself) regenerates no slice; a slice regenerated for its own reasons
        # records the master version it came from.
        s.input_hash = _hash({"slice": dict(vars(s)), "master_major": spec.version.split(".")[0],
                              "generator": generator})
    live = set(ids.values())
    retired = sorted(sid for sid in known_slices if sid not in live)
    edges = [(ids[a], ids[b]) for a, b in graph.edges]
    master = {"title": spec.title, "version": spec.version, "path": spec.path, "content_hash": spec.content_hash,
              "overview": spec.overview}
    return Plan(master, slices, retired, owners.unassigned, sorted(edges))


def assign_slice_ids(names_in_order: list[str], known_slices: dict[str, dict]) -> dict[str, str]:
    """`slice-NNN-slug`, numbered on first sight; a known slug keeps its number forever."""
    by_slug = {sid.split("-", 2)[2]: sid for sid in known_slices}
    next_number = max((int(sid.split("-", 2)[1]) for sid in known_slices), default=0) + 1
    ids = {}
    for name in names_in_order:
        slug = slugify(name)
        if slug not in by_slug:
            by_slug[slug] = f"slice-{next_number:03d}-{slug}"
            next_number += 1
        ids[name] = by_slug[slug]
    return ids


def unassigned_errors(plan: Plan, path: str) -> list[Diagnostic]:
    """What `--strict` refuses: every item no slice owns."""
    return [Diagnostic(path, u.line, f"{u.kind} {u.label!r} is not assigned to any component ({u.reason}); "
                                     "add a trailing [Component] tag") for u in plan.unassigned]


def _raise(errors: list[Diagnostic]) -> None:
    if errors:
        raise SpecError(sorted(errors, key=lambda d: d.line or 0))


def _hash(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _resolve(name: str, by_name: dict[str, Component], by_key: dict[str, str]) -> str | None:
    if name in by_name:
        return name
    return by_key.get(match_key(name))


def _key_index(components) -> dict[str, str]:
    """match key -> component name; the first component in spec order wins a shared key."""
    index: dict[str, str] = {}
    for comp in components:
        for key in sorted(component_keys(comp.name)):
            index.setdefault(key, comp.name)
    return index


def _dependency_graph(spec: MasterSpec, by_name: dict[str, Component], errors: list[Diagnostic]) -> nx.DiGraph:
    graph = nx.DiGraph()
    by_key = _key_index(spec.components)
    for index, comp in enumerate(spec.components):
        graph.add_node(comp.name, index=index)
    for comp in spec.components:
        for dep in comp.depends_on:
            target = _resolve(dep, by_name, by_key)
            if target is None:
                known = ", ".join(c.name for c in spec.components[:12])
                errors.append(Diagnostic(spec.path, comp.line, f"component {comp.name!r} depends on {dep!r}, "
                                                               f"which is not a component (known: {known}); "
                                                               "fix the name or add the component"))
            elif target == comp.name:
                errors.append(Diagnostic(spec.path, comp.line, f"component {comp.name!r} depends on itself; "
                                                               "remove that dependency"))
            else:
                graph.add_edge(target, comp.name)
    return graph


def _order(spec: MasterSpec, graph: nx.DiGraph) -> list[str]:
    """Dependencies first, spec order among equals. Only a graph that cannot be ordered is searched
    for its cycle (the search costs more than the sort)."""
    try:
        return list(nx.lexicographical_topological_sort(graph, key=lambda n: f"{graph.nodes[n]['index']:09d}"))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(graph)
    names = [a for a, _ in cycle] + [cycle[0][0]]
    first = min((c for c in spec.components if c.name in names), key=lambda c: c.line)
    raise SpecError([Diagnostic(spec.path, first.line, "dependency cycle: " + " → ".join(names) +
                                " (each is needed by the next); remove one of these dependencies")])


class _Owners:
    """Decides which component owns each endpoint, data model and requirement (see docs/master-spec.md)."""

    def __init__(self, spec: MasterSpec, by_name: dict[str, Component], errors: list[Diagnostic]):
        self.spec, self.by_name, self.errors = spec, by_name, errors
        self.by_key = _key_index(spec.components)
        self.unassigned: list[Unassigned] = []
        self.endpoints: dict[str, list[Endpoint]] = {c.name: [] for c in spec.components}
        self.models: dict[str, list[DataModel]] = {c.name: [] for c in spec.components}
        self.functional: dict[str, list[Requirement]] = {c.name: [] for c in spec.components}
        self.non_functional: dict[str, list[Requirement]] = {c.name: [] for c in spec.components}
        self.global_nfr: list[Requirement] = []
        # Every path segment of the spec: the words a latency budget's scope can name endpoints by.
        self.vocabulary = {key for ep in spec.endpoints for key in segment_keys(ep.path)}
        segment_owner: dict[str, str] = {}
        for ep in spec.endpoints:
            owner = self._tag(ep.tag, ep.line) if ep.tag else self._by_path(ep.path)
            if owner:
                self.endpoints[owner].append(ep)
                for seg in _segments(ep.path):
                    segment_owner.setdefault(match_key(seg), owner)
            elif not ep.tag:
                self.unassigned.append(Unassigned("endpoint", ep.label, ep.line, "no path segment names a component"))
        requirement_owner = self._tagged_requirement_index()
        description_owner = self._description_index()
        head_noun_owner: dict[str, str] = {}
        for comp in spec.components:
            head_noun_owner.setdefault(match_key(_WORD.findall(comp.name)[-1]), comp.name)
        self.model_owner: dict[str, str] = {}
        for model in spec.data_models:
            key = match_key(model.name)
            # Exact name evidence first, then the owner's own words, then anyone's prose.
            owner = (self._tag(model.tag, model.line) if model.tag else
                     self.by_key.get(key) or self._by_prefix(model.name) or segment_owner.get(key)
                     or requirement_owner.get(key) or description_owner.get(key) or head_noun_owner.get(key))
            if owner:
                self.models[owner].append(model)
                self.model_owner.setdefault(key, owner)
            elif not model.tag:
                self.unassigned.append(Unassigned("data model", model.name, model.line,
                                                  "no component, endpoint path or description names it"))
        for req in spec.functional:
            owners = [self._tag(req.tag, req.line)] if req.tag else self._mentioned(req.text)
            for owner in filter(None, owners):
                self.functional[owner].append(req)
            if not owners and not req.tag:
                self.unassigned.append(Unassigned("requirement", req.text, req.line,
                                                  "it names no component and no data model"))
        for req in spec.non_functional:
            if req.tag:
                if owner := self._tag(req.tag, req.line):
                    self.non_functional[owner].append(req)
            else:
                self.global_nfr.append(req)

    def _tag(self, tag: str, line: int) -> str | None:
        owner = _resolve(tag, self.by_name, self.by_key)
        if owner is None:
            self.errors.append(Diagnostic(self.spec.path, line, f"tag [{tag}] names no component; use one of "
                                                                f"the names under ### Components"))
        return owner

    def _by_path(self, path: str) -> str | None:
        for seg in _segments(path):
            if owner := self.by_key.get(match_key(seg)):
                return owner
        return None

    def _mentioned(self, text: str) -> list[str]:
        """Every component the text names; failing that, the worker whose way of running it names
        ("every night, in one batch"); failing that, the owners of every data model it names."""
        keys = _window_keys(text)
        if found := list(dict.fromkeys(self.by_key[key] for key in keys if key in self.by_key)):
            return found
        if found := self._worker_for(text):
            return found
        return list(dict.fromkeys(self.model_owner[key] for key in keys if key in self.model_owner))

    def _by_prefix(self, name: str) -> str | None:
        """The component a model's leading words name: `CartItem` and `Cart Line` belong to Cart."""
        words = _NAME_WORDS.findall(name)
        for n in range(len(words) - 1, 0, -1):
            if owner := self.by_key.get(match_key("".join(words[:n]))):
                return owner
        return None

    def _tagged_requirement_index(self) -> dict[str, str]:
        """Names a component's own (tagged) requirements mention: the first in spec order wins."""
        index: dict[str, str] = {}
        for req in (*self.spec.functional, *self.spec.non_functional):
            if req.tag and (owner := _resolve(req.tag, self.by_name, self.by_key)):
                for key in _window_keys(req.text):
                    index.setdefault(key, owner)
        return index

    def _worker_for(self, text: str) -> list[str]:
        """A requirement that names no component nor model but says how a job runs ("nightly",
        "a batch"): the worker that says the same; the only worker, when just one says any."""
        said = {m.lower() for m in _WORKER.findall(text)}
        if not said:
            return []
        workers = {c.name: {m.lower() for m in _WORKER.findall(f"{c.name} {c.description}")}
                   for c in self.spec.components if not self.endpoints[c.name]}
        workers = {name: words for name, words in workers.items() if words}
        same = [name for name, words in workers.items() if words & said]
        return same[:1] or (list(workers) if len(workers) == 1 else [])

    def _description_index(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for comp in self.spec.components:
            for key in _window_keys(comp.description):
                index.setdefault(key, comp.name)
        return index


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s and not _PATH_SKIP.fullmatch(s)]


def _window_keys(text: str, width: int = 3) -> list[str]:
    words = _WORD.findall(text)
    return [match_key(" ".join(words[i:i + n])) for n in range(width, 0, -1) for i in range(len(words) - n + 1)]


def _platform(comp: Component, kind: str) -> tuple[str, str]:
    if comp.platform:
        return comp.platform, "set in the master spec"
    if kind == WORKER:
        unused = f"; the GPU it asks for ({comp.gpu}) waits for that" if comp.gpu else ""
        return WORKER_PLATFORM, ("a worker runs as a job on this machine: VSO does not generate cloud schedules "
                                 f"yet{unused}")
    if comp.gpu:
        return "modal", f"it asks for a GPU ({comp.gpu}), which only Modal offers"
    if m := _COMPUTE_HEAVY.search(f"{comp.name} {comp.description}"):
        return "modal", f"compute-heavy: mentions {m.group(0).lower()!r}"
    return DEFAULT_PLATFORM, "the default"


def _kind(comp: Component, has_endpoints: bool) -> tuple[str, str]:
    if has_endpoints:
        return SERVICE, "it has endpoints"
    if m := _WORKER.search(f"{comp.name} {comp.description}"):
        return WORKER, f"no endpoints, and it is described as {m.group(0).lower()!r}"
    return SERVICE, "the default (its description names no job, batch or worker)"


def _latency(reqs: list[Requirement], endpoints: list[Endpoint], vocabulary: set[str]) -> _Budget:
    """The tightest budget that is about this slice, and the endpoints it is about there. A budget
    that names endpoints (`for GET /todos`, `for checkout`) is about the slices that have them; one
    about reads or writes, about every slice."""
    pairs = [(ep.method, ep.path) for ep in endpoints]
    budgets = [(r, selection) for r in reqs if r.latency
               and _about(selection := select(r.latency.scope, pairs, vocabulary))]
    return min(budgets, key=lambda budget: budget[0].latency.millis) if budgets else (None, None)


def _about(selection: Selection) -> bool:
    return bool(selection.endpoints) or not selection.named


def _budget_scope_errors(owners: _Owners) -> list[Diagnostic]:
    """A budget whose scope names endpoints no slice it applies to has would be measured nowhere."""
    errors = []
    for req in owners.spec.non_functional:
        if not req.latency or not req.latency.scope:
            continue
        owner = _resolve(req.tag, owners.by_name, owners.by_key) if req.tag else None
        endpoints = owners.endpoints[owner] if owner else [ep for eps in owners.endpoints.values() for ep in eps]
        if not _about(select(req.latency.scope, [(ep.method, ep.path) for ep in endpoints], owners.vocabulary)):
            where = f"of {owner}" if owner else "of any component"
            listed = ", ".join(ep.label for ep in endpoints[:8]) or "none"
            errors.append(Diagnostic(owners.spec.path, req.line, f"the latency budget's scope {req.latency.scope!r} "
                                                                 f"names no endpoint {where} (endpoints: {listed}); "
                                                                 "name one as `for GET /path`, or write "
                                                                 "`for every read`"))
    return errors


def _endpoint_dict(ep: Endpoint) -> dict:
    params = _PATH_PARAM.findall(ep.path)
    name = "_".join([ep.method.lower()] + [_NOT_IDENTIFIER.sub("_", s.lower()).strip("_")
                                           for s in ep.path.split("/") if s and not s.startswith("{")] +
                    [f"by_{p}" for p in params]) or ep.method.lower()
    return {"method": ep.method, "path": ep.path, "description": ep.description, "params": params,
            "function": name}


def _planned_slice(spec: MasterSpec, comp: Component, ids: dict[str, str], owners: _Owners,
                   graph: nx.DiGraph) -> PlannedSlice:
    slice_id = ids[comp.name]
    number, slug = int(slice_id.split("-", 2)[1]), slice_id.split("-", 2)[2]
    deps = sorted(graph.predecessors(comp.name), key=lambda n: graph.nodes[n]["index"])
    own = owners.non_functional[comp.name]
    kind, kind_reason = _kind(comp, bool(owners.endpoints[comp.name]))
    platform, reason = _platform(comp, kind)
    # A latency budget of the slice's own replaces the global one: listing both would ask for two.
    # A worker answers no requests: no latency budget applies to it.
    # A budget about other slices' endpoints is left out of this one's spec.
    budget, about = (None, None)
    if kind != WORKER:
        owned = owners.endpoints[comp.name]
        budget, about = _latency(own, owned, owners.vocabulary)
        if budget is None:
            budget, about = _latency(owners.global_nfr, owned, owners.vocabulary)
    nfr = [r for r in owners.global_nfr if not r.latency or r is budget] + own
    endpoints = [_endpoint_dict(ep) for ep in owners.endpoints[comp.name]]
    _dedupe_functions(endpoints)
    return PlannedSlice(
        slice_id=slice_id, number=number, slug=slug, module=python_identifier(slug), name=comp.name,
        description=comp.description, notes=list(comp.notes),
        dependencies=[ids[d] for d in deps], dependency_names=deps,
        platform=platform, platform_reason=reason, kind=kind, kind_reason=kind_reason,
        endpoints=endpoints,
        models=[{"name": m.name, "fields": list(m.fields)} for m in owners.models[comp.name]],
        functional=[r.text for r in owners.functional[comp.name]],
        non_functional=[{"kind": r.kind, "text": r.text} for r in nfr],
        latency={**vars(budget.latency), "endpoints": [list(ep) for ep in about.endpoints]} if budget else None,
        gpu=comp.gpu,
        calls=[{"slice_id": ids[d], "name": d, "variable": dependency_variable(ids[d])} for d in deps
               if _kind(owners.by_name[d], bool(owners.endpoints[d]))[0] == SERVICE],
    )


def _dedupe_functions(endpoints: list[dict]) -> None:
    """Distinct handler (and test) names: `/a/b` and `/a_b` both make get_a_b, and the second one's
    get_a_b_2 must not be what `/a/b/2` makes."""
    taken = {ep["function"] for ep in endpoints}
    used: set[str] = set()
    for ep in endpoints:
        name, n = ep["function"], 1
        while name in used or (n > 1 and name in taken):
            n += 1
            name = f"{ep['function']}_{n}"
        ep["function"] = name
        used.add(name)
