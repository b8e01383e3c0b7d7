"""Reads a master spec: its YAML frontmatter through python-frontmatter, its body section by section
(spec_body.py) over markdown-it's blocks (spec_blocks.py), and the content hash that says whether it
changed, blind to the `## Vertical Slices` section VSO generates.

Every problem is reported as `file:line: what is wrong, how to fix it`; problems that do not stop
the parse are collected so `vso validate` shows them all at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import yaml

from .bulk import gc_paused
from .errors import Diagnostic, SpecError, VSOError, fail
from .model import MasterSpec
from .project import Project, decode_text
from .spec_blocks import BlockCache, markdown_lines
from .spec_body import BodyParser, check_duplicates, split_and

MAX_SPEC_BYTES = 5 * 1024 * 1024
MAX_FRONTMATTER_DEPTH = 32
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")


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
        parsed = BodyParser(path, body_first_line, errors).parse(body, blocks_cache)
    if not parsed.components and not errors:
        errors.append(
            Diagnostic(path, parsed.components_line or body_first_line + 1,
                       "no components found; list them under `## Architecture` / `### Components` "
                       "as `- **Name**: description`")
        )
    check_duplicates(parsed, path, errors)
    if errors:
        raise SpecError(errors)
    return MasterSpec(
        path=path,
        content_hash=_content_hash(text, parsed.generated_lines),
        overview=" ".join(parsed.overview).strip(),
        components=tuple(split_and(parsed.components)),
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
    return BodyParser("", body_first_line, []).parse(body, None).generated_lines


def _content_hash(text: str, skipped: range | None) -> str:
    """The spec without its generated section, and without trailing blank lines, so that adding
    that section at the end (master_sync does, when it is missing) changes nothing. Lines are the
    parser's own, so the section skipped is the one it found."""
    lines = markdown_lines(text)
    if skipped is not None:
        lines = lines[: skipped.start] + lines[skipped.stop:]
    return hashlib.sha256(("".join(lines).rstrip() + "\n").encode()).hexdigest()


def read_project_spec(project: Project, *, keep_cache: bool = True) -> MasterSpec:
    """The project's master spec, tokenizing only the chunks the block cache has not seen. The cache
    is saved for the next process (a sensor's run, the next command) unless `keep_cache` is False."""
    blocks_cache = BlockCache(project.cache_dir / "master-spec-blocks.json")
    spec = read_master_spec(project.master_spec, shown_as=project.relative(project.master_spec),
                            blocks_cache=blocks_cache)
    if keep_cache and blocks_cache.missed:
        project.make_cache_dir()
        project.write(blocks_cache.path, blocks_cache.to_json())
    return spec
