"""Reads a master spec: YAML frontmatter through python-frontmatter, the body through markdown-it's
blocks (spec_blocks.py). Structure (which section a bullet is in, which bullet is nested under
which) comes from the token stream; regular expressions only ever look inside one bullet's text.

Every problem is reported as `file:line: what is wrong, how to fix it`; problems that do not stop
the parse are collected so `vso validate` shows them all at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml

from .bulk import gc_paused
from .errors import Diagnostic, SpecError, VSOError, fail
from .model import SPEC_PLATFORMS, Component, DataModel, Endpoint, LatencyBudget, MasterSpec, Requirement
from .names import IDENTIFIER, component_name_problem
from .project import Project, decode_text
from .spec_blocks import BlockCache, Heading, Item, Paragraph, body_blocks, markdown_lines
from .templating import render

MAX_SPEC_BYTES = 5 * 1024 * 1024
MAX_FRONTMATTER_DEPTH = 32
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

_COMPONENT = re.compile(r"(\*\*|__)(?P<name>.+?)\1\s*[:—–-]?\s*(?P<rest>.*)", re.S)
_DEPS_PAREN = re.compile(r"\(\s*(?:depends on|requires)\s*:\s*(?P<list>[^)]*)\)", re.I)
_PLATFORM_PAREN = re.compile(r"\(\s*platform\s*:\s*(?P<value>[^)]*)\)", re.I)
_DEPS_INLINE = re.compile(r"(?:^|(?<=[\s.;,]))(?:depends on|requires)\s*:\s*(?P<list>.*)$", re.I | re.S)
_NESTED = re.compile(r"(?P<key>depends on|requires|platform)\s*:\s*(?P<value>.*)", re.I | re.S)
_ENDPOINT = re.compile(r"`?(?P<method>[A-Za-z]+)\s+(?P<path>/[^\s`]*)`?\s*(?:→|->)\s*(?P<desc>.*)", re.S)
_PATH_SEGMENT = r"(?:[A-Za-z0-9._~:-]+|\{[A-Za-z_][A-Za-z0-9_]*\})"
_ENDPOINT_PATH = re.compile(rf"/{_PATH_SEGMENT}?(?:/{_PATH_SEGMENT})*/?")
_MODEL = re.compile(r"(?P<name>[^:{]+?)\s*:\s*\{(?P<fields>[^}]*)\}\s*(?P<after>.*)", re.S)
_TRAILING_TAG = re.compile(r"\s*\[(?P<tag>[^\[\]]+)\]\s*$")
_KIND = re.compile(r"(?P<kind>[A-Za-z][A-Za-z /-]{0,30}?)\s*:\s*(?P<text>.+)", re.S)
_LATENCY = re.compile(r"\bp(?P<pct>\d{1,2}(?:\.\d+)?)\s*(?:<=|<|≤)\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>ms|s)\b", re.I)


def read_master_spec(path: Path, shown_as: str | None = None, blocks_cache: BlockCache | None = None) -> MasterSpec:
    shown = shown_as or str(path)
    if not path.exists():
        raise fail(shown, None, "master spec not found; create one with `vso init` "
                                "(or `vso validate --spec FILE` for another file)")
    if not path.is_file():
        raise fail(shown, None, "is not a file; point --spec at the master spec Markdown file")
    size = path.stat().st_size
    if size > MAX_SPEC_BYTES:
        raise _too_big(shown, size)
    return parse_master_spec(path.read_bytes(), shown, blocks_cache)


# One parse per spec text and process: `vso decompose` reads the spec in each of its three runs,
# and a MasterSpec is frozen, so they share it. A spec with mistakes raises and is not kept.
_PARSED: dict[tuple[bytes, str], MasterSpec] = {}


def parse_master_spec(data: bytes, path: str, blocks_cache: BlockCache | None = None) -> MasterSpec:
    """`blocks_cache` (see spec_blocks.py) lets a changed spec tokenize only its changed parts."""
    if len(data) > MAX_SPEC_BYTES:
        raise _too_big(path, len(data))
    if (data, path) not in _PARSED:
        spec = _parse(data, path, blocks_cache)
        _PARSED.clear()
        _PARSED[data, path] = spec
    return _PARSED[data, path]


def _parse(data: bytes, path: str, blocks_cache: BlockCache | None) -> MasterSpec:
    try:
        text = decode_text(data, path).removeprefix("\ufeff")
    except VSOError as error:
        raise SpecError(error.diagnostics) from None
    if not text.strip():
        raise fail(path, 1, "the file is empty; start from the skeleton `vso init` writes (docs/master-spec.md)")
    header, header_first_line, body, body_first_line = _split_frontmatter(text, path)
    meta, key_lines = _load_frontmatter(header, header_first_line, path)
    errors: list[Diagnostic] = []
    fields = _frontmatter_fields(meta, key_lines, path, errors)
    with gc_paused():
        parsed = _BodyParser(path, body_first_line, errors).parse(body, blocks_cache)
    if not parsed.components and not errors:
        errors.append(
            Diagnostic(path, parsed.components_line or body_first_line + 1,
                       "no components found; list them under `## Architecture` / `### Components` "
                       "as `- **Name**: description`")
        )
    _check_duplicates(parsed, path, errors)
    if errors:
        raise SpecError(errors)
    return MasterSpec(
        path=path,
        content_hash=_content_hash(text, parsed.generated_lines),
        overview=" ".join(parsed.overview).strip(),
        components=tuple(_split_and(parsed.components)),
        data_models=tuple(parsed.models),
        endpoints=tuple(parsed.endpoints),
        functional=tuple(parsed.functional),
        non_functional=tuple(parsed.non_functional),
        **fields,
    )


def _too_big(path: str, size: int) -> SpecError:
    return fail(path, 1, f"the file is {size / 1024 / 1024:.1f} MiB; a master spec may be at most "
                         f"{MAX_SPEC_BYTES // 1024 // 1024} MiB; split prose into linked documents")


def _split_frontmatter(text: str, path: str) -> tuple[str, int, str, int]:
    """Split on python-frontmatter's YAML boundary, keeping line numbers for both parts."""
    boundaries = list(frontmatter.YAMLHandler.FM_BOUNDARY.finditer(text))
    if not boundaries or boundaries[0].start() != 0:
        raise fail(path, 1, "no YAML frontmatter; the file must start with a '---' line, then "
                            "`title:` and `version:`, then another '---' line")
    if len(boundaries) < 2:
        raise fail(path, 1, "the frontmatter is not closed; add a '---' line after the last YAML key")
    opening, closing = boundaries[0], boundaries[1]

    def line_at(offset: int) -> int:
        return text[:offset].count("\n") + 1

    return (text[opening.end(): closing.start()], line_at(opening.end()),
            text[closing.end():], line_at(closing.end()))


class _StrictYAMLHandler(frontmatter.YAMLHandler):
    """Safe YAML that also refuses anchors and aliases: an alias bomb expands to gigabytes."""

    def load(self, fm: str, **kwargs: object) -> tuple[dict, dict[str, int]]:
        depth = 0
        for event in yaml.parse(fm, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise _YAMLRefused(event.start_mark.line, "YAML anchors and aliases (&name, *name) are "
                                                          "not allowed in the frontmatter; write values out")
            # PyYAML composes recursively, and scans deep flow nesting in quadratic time: stop early.
            depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)
            if depth > MAX_FRONTMATTER_DEPTH:
                raise _YAMLRefused(event.start_mark.line, f"a frontmatter value is nested more than "
                                                          f"{MAX_FRONTMATTER_DEPTH} levels deep; flatten it")
        node = yaml.compose(fm, Loader=yaml.SafeLoader)
        if not isinstance(node, yaml.MappingNode):
            line = node.start_mark.line if node is not None else 0
            raise _YAMLRefused(line, "the frontmatter must be a YAML mapping (`title: ...`, `version: ...`)")
        key_lines = {k.value: k.start_mark.line for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
        return yaml.load(fm, Loader=yaml.SafeLoader), key_lines


@dataclass
class _YAMLRefused(Exception):
    line: int
    message: str


def _load_frontmatter(header: str, first_line: int, path: str) -> tuple[dict, dict[str, int]]:
    try:
        meta, key_lines = _StrictYAMLHandler().load(header)
    except _YAMLRefused as exc:
        raise fail(path, first_line + exc.line, exc.message) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = first_line + mark.line if mark else first_line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise fail(path, line, f"the frontmatter is not valid YAML ({problem}); fix the YAML syntax") from None
    return meta, {key: first_line + line for key, line in key_lines.items()}


def _frontmatter_fields(meta: dict, lines: dict[str, int], path: str, errors: list[Diagnostic]) -> dict:
    def at(key: str) -> int:
        return lines.get(key, 1)

    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        errors.append(Diagnostic(path, at("title"), "frontmatter needs `title:` with the system's name"))
        title = ""
    version = meta.get("version")
    if not isinstance(version, str) or not SEMVER.fullmatch(version.strip()):
        shown = "missing" if version is None else repr(version)
        errors.append(Diagnostic(path, at("version"), f"`version` must be a quoted semantic version such as "
                                                      f"\"1.0.0\" (found {shown})"))
        version = "0.0.0"
    return {
        "title": title.strip(),
        "version": version.strip(),
        "authors": _string_list(meta, "authors", at, path, errors),
        "dependencies": _string_list(meta, "dependencies", at, path, errors),
        "last_updated": _date_text(meta.get("last_updated")),
    }


def _string_list(meta: dict, key: str, at, path: str, errors: list[Diagnostic]) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v) for v in value)
    errors.append(Diagnostic(path, at(key), f"`{key}` must be a list of names, such as [\"Team A\"]"))
    return ()


def _date_text(value: object) -> str | None:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return None if value is None else str(value)


def generated_section(text: str) -> range | None:
    """Where the generated `## Vertical Slices` section is, as indexes into markdown_lines(text)
    (its heading to the next heading of level 1 or 2), as the Markdown parser sees it: a line
    `## Vertical Slices` inside a code fence is not it, and a Setext heading is."""
    try:
        _, _, body, body_first_line = _split_frontmatter(text, "")
    except SpecError:
        return None
    return _BodyParser("", body_first_line, []).parse(body, None).generated_lines


def _content_hash(text: str, skipped: range | None) -> str:
    """The spec without its generated section, and without trailing blank lines, so that adding
    that section at the end (master_sync does, when it is missing) changes nothing. Lines are the
    parser's own, so the section skipped is the one it found."""
    lines = markdown_lines(text)
    if skipped is not None:
        lines = lines[: skipped.start] + lines[skipped.stop:]
    return hashlib.sha256(("".join(lines).rstrip() + "\n").encode()).hexdigest()


@dataclass
class _BodyParser:
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

    def parse(self, body: str, blocks_cache: BlockCache | None) -> _BodyParser:
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
        rest, depends, platform = m["rest"], [], None
        for found in _DEPS_PAREN.finditer(rest):
            depends += _name_list(found["list"])
        rest = _DEPS_PAREN.sub("", rest)
        if found := _PLATFORM_PAREN.search(rest):
            platform = found["value"]
            rest = _PLATFORM_PAREN.sub("", rest)
        if found := _DEPS_INLINE.search(rest):
            depends += _name_list(found["list"])
            rest = rest[: found.start()]
        notes = []
        for child in item.children:
            nested = _NESTED.fullmatch(child.text)
            if nested and nested["key"].lower() == "platform":
                platform = nested["value"]
            elif nested:
                depends += _name_list(nested["value"])
            elif child.text:
                notes.append(child.text)
        if platform is not None:
            platform = platform.strip().strip("`*").lower()
            if platform not in SPEC_PLATFORMS:
                self._error(item.line, f"component {name!r} has platform {platform!r}; use one of: "
                                       f"{', '.join(SPEC_PLATFORMS)}")
                platform = None
        description = rest.strip().rstrip(".;, ").strip() or name
        self.components.append(Component(name, description, tuple(dict.fromkeys(depends)), platform,
                                         tuple(notes), item.line))

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
            latency = LatencyBudget(float(m["pct"]), millis)
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


def _split_and(components: list[Component]) -> list[Component]:
    """Each dependency that is not a component's name but joins names with "and" is split there."""
    known = {_same_name_key(c.name) for c in components}

    def names(dep: str) -> list[str]:
        if _same_name_key(dep) in known or not re.search(r"\band\b", dep):
            return [dep]
        return [n.strip().strip("`*_ .") for n in re.split(r"\band\b", dep) if n.strip().strip("`*_ .")]

    return [dataclasses.replace(c, depends_on=tuple(dict.fromkeys(n for dep in c.depends_on for n in names(dep))))
            for c in components]


def _check_duplicates(parsed: _BodyParser, path: str, errors: list[Diagnostic]) -> None:
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


def read_project_spec(project: Project, *, keep_cache: bool = True) -> MasterSpec:
    """The project's master spec, tokenizing only the chunks the block cache has not seen. The cache
    is saved for the next process (a sensor's run, the next command) unless `keep_cache` is False."""
    blocks_cache = BlockCache(project.cache_dir / "master-spec-blocks.json")
    spec = read_master_spec(project.master_spec, shown_as=project.relative(project.master_spec),
                            blocks_cache=blocks_cache)
    if keep_cache and blocks_cache.missed:
        ignore = project.cache_dir / ".gitignore"
        if not ignore.exists():
            project.write(ignore, render("project/cache-gitignore.j2"))
        project.write(blocks_cache.path, blocks_cache.to_json())
    return spec
