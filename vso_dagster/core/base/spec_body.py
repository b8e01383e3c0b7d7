"""The master spec's body, section by section: components, data models, API endpoints and
requirements, each read from one bullet of markdown-it's block stream (spec_blocks.py). Regular
expressions only ever look inside one bullet's text; which section a bullet is in, and which bullet is
nested under which, come from the token stream.

A problem is collected as a Diagnostic at the bullet's line, so `vso validate` shows them all at once.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from dataclasses import dataclass, field

from .errors import Diagnostic
from .model import GPU_TYPES, SPEC_PLATFORMS, TEAM_TYPES, Component, DataModel, Endpoint, LatencyBudget, Requirement
from .names import IDENTIFIER, component_name_problem
from .spec_blocks import BlockCache, Heading, Item, Paragraph, body_blocks

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

_COMPONENT = re.compile(r"(\*\*|__)(?P<name>.+?)\1\s*[:—–-]?\s*(?P<rest>.*)", re.S)
_DEPS_PAREN = re.compile(r"\(\s*(?:depends on|requires)\s*:\s*(?P<list>[^)]*)\)", re.I)
_PLATFORM_PAREN = re.compile(r"\(\s*platform\s*:\s*(?P<value>[^)]*)\)", re.I)
_GPU_PAREN = re.compile(r"\(\s*gpu\s*:\s*(?P<value>[^)]*)\)", re.I)
_DEPS_INLINE = re.compile(r"(?:^|(?<=[\s.;,]))(?:depends on|requires)\s*:\s*(?P<list>.*)$", re.I | re.S)
# A component's `Team: <type>` line: the kind of team that builds its slice (model.TEAM_TYPES).
TEAM_NOTE = re.compile(r"team\s*:\s*(?P<value>.*)", re.I | re.S)
_NESTED = re.compile(r"(?P<key>depends on|requires|platform|gpu)\s*:\s*(?P<value>.*)", re.I | re.S)
_ENDPOINT = re.compile(r"`?(?P<method>[A-Za-z]+)\s+(?P<path>/[^\s`]*)`?\s*(?:→|->)\s*(?P<desc>.*)", re.S)
_PATH_SEGMENT = r"(?:[A-Za-z0-9._~:-]+|\{[A-Za-z_][A-Za-z0-9_]*\})"
_ENDPOINT_PATH = re.compile(rf"/{_PATH_SEGMENT}?(?:/{_PATH_SEGMENT})*/?")
_MODEL = re.compile(r"(?P<name>[^:{]+?)\s*:\s*\{(?P<fields>[^}]*)\}\s*(?P<after>.*)", re.S)
_TRAILING_TAG = re.compile(r"\s*\[(?P<tag>[^\[\]]+)\]\s*$")
_KIND = re.compile(r"(?P<kind>[A-Za-z][A-Za-z /-]{0,30}?)\s*:\s*(?P<text>.+)", re.S)
_LATENCY = re.compile(r"\bp(?P<pct>\d{1,2}(?:\.\d+)?)\s*(?:<=|<|≤)\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>ms|s)\b", re.I)
# What the budget is about, right after it: "p95 < 200ms for every read" (see latency_scope.py).
_LATENCY_SCOPE = re.compile(r"\s*(?:for|on|of|across)\s+(?P<scope>[^.;]*[^.;\s])", re.I)


@dataclass
class BodyParser:
    path: str
    first_line: int
    errors: list[Diagnostic]
    components: list[Component] = field(default_factory=list)
    models: list[DataModel] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    functional: list[Requirement] = field(default_factory=list)
    non_functional: list[Requirement] = field(default_factory=list)
    overview: list[str] = field(default_factory=list)
    components_line: int | None = None
    generated_lines: range | None = None

    def parse(self, body: str, blocks_cache: BlockCache | None) -> BodyParser:
        h2 = h3 = ""
        generated_start: int | None = None
        for block in body_blocks(body, self.first_line, blocks_cache):
            if isinstance(block, Heading):
                if block.level <= 2:
                    if generated_start is not None and self.generated_lines is None:
                        self.generated_lines = range(generated_start - 1, block.line - 1)
                    h2, h3 = block.key, ""
                    if h2 == "verticalslices":
                        generated_start = block.line
                elif block.level == 3:
                    h3 = block.key
                if "components" in (h2, h3):
                    self.components_line = self.components_line or block.line
            elif isinstance(block, Paragraph):
                if h2 == "overview":
                    self.overview.append(block.text)
            else:
                self._item(h2, h3, block)
        if generated_start is not None and self.generated_lines is None:
            self.generated_lines = range(generated_start - 1, 10**9)
        return self

    def _error(self, line: int, message: str) -> None:
        self.errors.append(Diagnostic(self.path, line, message))

    def _item(self, h2: str, h3: str, item: Item) -> None:
        where = {h2, h3}
        if "verticalslices" in where:
            return
        if "components" in where:
            self._component(item)
        elif "datamodels" in where:
            self._model(item)
        elif where & {"apiendpoints", "endpoints", "api"}:
            self._endpoint(item)
        elif h2 == "requirements" and h3 == "functional":
            self._requirement(item, self.functional, functional=True)
        elif h2 == "requirements" and h3 in ("nonfunctional", "nonfunctionalrequirements"):
            self._requirement(item, self.non_functional, functional=False)

    def _component(self, item: Item) -> None:
        m = _COMPONENT.fullmatch(item.text)
        if not m:
            return self._error(item.line, "a component bullet must read `- **Name**: description`")
        name = m["name"].strip()
        if problem := component_name_problem(name):
            return self._error(item.line, problem)
        rest, depends, platform, gpu = m["rest"], [], None, None
        for found in _DEPS_PAREN.finditer(rest):
            depends += _name_list(found["list"])
        rest = _DEPS_PAREN.sub("", rest)
        if found := _PLATFORM_PAREN.search(rest):
            platform = found["value"]
            rest = _PLATFORM_PAREN.sub("", rest)
        if found := _GPU_PAREN.search(rest):
            gpu = found["value"]
            rest = _GPU_PAREN.sub("", rest)
        if found := _DEPS_INLINE.search(rest):
            depends += _name_list(found["list"])
            rest = rest[: found.start()]
        notes = []
        for child in item.children:
            nested = _NESTED.fullmatch(child.text)
            if nested and nested["key"].lower() == "platform":
                platform = nested["value"]
            elif nested and nested["key"].lower() == "gpu":
                gpu = nested["value"]
            elif nested:
                depends += _name_list(nested["value"])
            elif child.text:
                notes.append(child.text)
                self._team_note(child)
        if platform is not None:
            platform = spec_word(platform)
            if platform not in SPEC_PLATFORMS:
                self._error(item.line, f"component {name!r} has platform {platform!r}; use one of: "
                                       f"{', '.join(SPEC_PLATFORMS)}")
                platform = None
        gpu = self._gpu(item.line, name, gpu, platform)
        description = rest.strip().rstrip(".;, ").strip() or name
        self.components.append(Component(name, description, tuple(dict.fromkeys(depends)), platform,
                                         tuple(notes), item.line, gpu))

    def _gpu(self, line: int, name: str, asked: str | None, platform: str | None) -> str | None:
        """The GPU by Modal's own spelling of it; None, with the error said, when it is not one."""
        if asked is None:
            return None
        gpu = next((g for g in GPU_TYPES if g.lower() == asked.strip().lower()), None)
        if gpu is None:
            self._error(line, f"component {name!r} asks for GPU {asked.strip()!r}; use one of: {', '.join(GPU_TYPES)}")
        elif platform not in (None, "modal"):
            self._error(line, f"component {name!r} asks for a GPU on {platform}, which has none (Hetzner Cloud offers "
                              f"no GPU servers); use platform: modal, or drop the GPU")
            return None
        return gpu

    def _team_note(self, item: Item) -> None:
        """A `Team: <type>` line stays a note (the team reads it in the slice spec), and must name a type."""
        if (found := TEAM_NOTE.fullmatch(item.text)) and spec_word(found["value"]) not in TEAM_TYPES:
            self._error(item.line, f"team type {found['value'].strip()!r} is not one VSO knows; use one of: "
                                   f"{', '.join(TEAM_TYPES)}")

    def _endpoint(self, item: Item) -> None:
        m = _ENDPOINT.fullmatch(item.text)
        if not m:
            return self._error(item.line, "an endpoint bullet must read `- METHOD /path → description` "
                                          "(`->` works too)")
        method, path = m["method"].upper(), m["path"]
        if method not in HTTP_METHODS:
            return self._error(item.line, f"unknown HTTP method {m['method']!r}; use one of {', '.join(HTTP_METHODS)}")
        if not _ENDPOINT_PATH.fullmatch(path):
            return self._error(item.line, f"endpoint path {path!r} may only hold letters, digits, '-', '_', "
                                          "'.', '~', ':' and `{param}` segments")
        if bad := [p for p in re.findall(r"\{(\w+)\}", path) if keyword.iskeyword(p)]:
            return self._error(item.line, f"path parameter {{{bad[0]}}} is a Python keyword; rename it")
        if problem := _path_problem(path):
            return self._error(item.line, f"endpoint path {path!r} {problem}")
        description, tag = _split_tag(m["desc"])
        self.endpoints.append(Endpoint(method, path, description, tag, item.line))

    def _model(self, item: Item) -> None:
        m = _MODEL.fullmatch(item.text)
        if not m:
            return self._error(item.line, "a data model bullet must read `- Name: {field1, field2}`")
        name = m["name"].strip().strip("`*_ ")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", name):
            return self._error(item.line, f"data model name {name!r} must be one word of letters, digits "
                                          "and '_' starting with a letter")
        fields = []
        for raw in m["fields"].split(","):
            field_name = raw.split(":")[0].strip().strip("`")
            if not field_name:
                continue
            if not IDENTIFIER.fullmatch(field_name):
                return self._error(item.line, f"field {field_name!r} of {name} must be a Python-style "
                                              "identifier (letters, digits, '_')")
            fields.append(field_name)
        if not fields:
            return self._error(item.line, f"data model {name} has no fields; list them as {{field1, field2}}")
        tag_match = _TRAILING_TAG.fullmatch(m["after"]) if m["after"].strip() else None
        self.models.append(DataModel(name, tuple(dict.fromkeys(fields)), tag_match["tag"].strip()
                                     if tag_match else None, item.line))

    def _requirement(self, item: Item, into: list[Requirement], *, functional: bool) -> None:
        text, tag = _split_tag(item.text)
        if not text:
            return
        kind = "Functional"
        if not functional and (m := _KIND.fullmatch(text)):
            kind = m["kind"].strip().title()
        latency = None
        if not functional and (m := _LATENCY.search(text)):
            millis = float(m["num"]) * (1000 if m["unit"].lower() == "s" else 1)
            scope = _LATENCY_SCOPE.match(text, m.end())
            latency = LatencyBudget(float(m["pct"]), millis, scope["scope"] if scope else None)
        into.append(Requirement(text, kind, tag, item.line, latency))


def _path_problem(path: str) -> str | None:
    """What makes a path unusable although each character is allowed: segments that are empty or
    step outside ('..'), or a parameter named twice (the handler would take one argument twice)."""
    segments = path.split("/")[1:]
    if any(seg in ("", ".", "..") for seg in segments[:-1]) or segments[-1] in (".", ".."):
        return "has an empty, '.' or '..' segment; write it as /things/{thing_id}"
    params = re.findall(r"\{(\w+)\}", path)
    if twice := next((p for p in params if params.count(p) > 1), None):
        return f"names the parameter {{{twice}}} twice; give each its own name ({{thing_id}}, {{part_id}})"
    return None


def _split_tag(text: str) -> tuple[str, str | None]:
    """'Create a user [Users]' -> ('Create a user', 'Users'); a lone '[text]' is text, not a tag."""
    m = _TRAILING_TAG.search(text)
    if not m:
        return text.strip(), None
    before = text[: m.start()].strip()
    if not before:
        return m["tag"].strip(), None
    return before, m["tag"].strip()


def _name_list(text: str) -> list[str]:
    """Names split at ',' and ';'. A piece with "and" in it stays whole here: whether it is one
    component ("Sales and Marketing") or two is known once every component is (_split_and)."""
    names = [n.strip().strip("`*_ .") for n in re.split(r"[,;]", text)]
    return [n for n in names if n and n.lower() not in ("none", "-", "n/a")]


def _same_name_key(name: str) -> str:
    """Names that differ only in case, spaces, '-' or '_' name the same component."""
    return re.sub(r"[\s_-]+", "", name.lower())


def split_and(components: list[Component]) -> list[Component]:
    """Each dependency that is not a component's name but joins names with "and" is split there."""
    known = {_same_name_key(c.name) for c in components}

    def names(dep: str) -> list[str]:
        if _same_name_key(dep) in known or not re.search(r"\band\b", dep):
            return [dep]
        return [n.strip().strip("`*_ .") for n in re.split(r"\band\b", dep) if n.strip().strip("`*_ .")]

    return [dataclasses.replace(c, depends_on=tuple(dict.fromkeys(n for dep in c.depends_on for n in names(dep))))
            for c in components]


def check_duplicates(parsed: BodyParser, path: str, errors: list[Diagnostic]) -> None:
    for kind, items, key in (("endpoint", parsed.endpoints, lambda e: e.label),
                             ("data model", parsed.models, lambda m: m.name)):
        first_line: dict[str, int] = {}
        for item in items:
            if key(item) in first_line:
                errors.append(Diagnostic(path, item.line, f"{kind} {key(item)!r} is listed twice (first on line "
                                                          f"{first_line[key(item)]}); keep one"))
            first_line.setdefault(key(item), item.line)
    seen: dict[str, Component] = {}
    components = parsed.components
    for comp in components:
        slug = _same_name_key(comp.name)
        if slug in seen:
            first = seen[slug]
            errors.append(Diagnostic(path, comp.line, f"component {comp.name!r} duplicates {first.name!r} "
                                                      f"(line {first.line}); give each component its own name"))
        else:
            seen[slug] = comp


def spec_word(value: str) -> str:
    """A `Platform:` or `Team:` value as the word it names: `ML`, `**ml**` and `` `ml` `` are all `ml`."""
    return value.strip().strip("`*").strip().lower()
