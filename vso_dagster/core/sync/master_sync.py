"""Slices -> master: the master's `## Vertical Slices` section, and what slices added to themselves.

The section (a table and a Mermaid graph) is regenerated from the plan and the slices' versions,
what is stable only (no status, no endpoint URL: the master is committed); the
master's content hash ignores it, so writing it never starts a decomposition. Endpoints and user
criteria a slice's spec.md gained beyond what VSO generated for it are added to the master under
their component (`[Component]` tags), and the master's minor version goes up. Nothing else in the
master is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..base.baselines import load_baseline
from ..base.errors import Diagnostic, SpecError
from ..base.master_spec import generated_section, parse_master_spec, read_project_spec
from ..base.plan import Plan, PlannedSlice, load_plan, mermaid
from ..base.project import Project, file_hash, read_text, sha256_bytes
from ..base.spec_blocks import markdown_lines
from ..base.state import bump, load_state, record_master_written, save_state
from ..base.templating import render

_ENDPOINT = re.compile(r"^- ([A-Z]+) (/\S*) → [^→]+ → (.+)$")
_VERSION = re.compile(r'^(version:\s*["\']?)(\d+\.\d+\.\d+)(["\']?\s*)$', re.M)


@dataclass
class MasterSync:
    written: bool = False  # master-spec.md changed (its generated section, or added lines)
    endpoints: list[str] = field(default_factory=list)  # master lines added
    criteria: list[str] = field(default_factory=list)
    version: str | None = None  # the master's new version, when it was bumped


@dataclass(frozen=True)
class _Addition:
    """A line a slice's spec.md gained that goes into the master, and where it came from."""
    master_line: str
    key: tuple[str, str] | str  # how the master's parse shows it: (method, path), or a criterion's text
    source: str  # vertical-slices/<id>/spec.md
    line: int


def sync_master(project: Project) -> MasterSync:
    with project.lock():
        # Bytes, decoded as they are: read_text() would turn CRLF into LF, and the rewrite with it.
        original = text = project.master_spec.read_bytes().decode("utf-8")
        result = MasterSync()
        spec = read_project_spec(project)
        plan = load_plan(project)
        state = load_state(project)
        known = {(e.method, e.path) for e in spec.endpoints} | {r.text for r in spec.functional}
        added = [a for s in plan.slices for a in slice_additions(
                     project, s, state["slices"].get(s.slice_id, {}).get("files", {}).get("spec.md"))
                 if a.key not in known]
        result.endpoints = [a.master_line for a in added if isinstance(a.key, tuple)]
        result.criteria = [a.master_line for a in added if isinstance(a.key, str)]
        text = _insert_items(text, [
            (max((r.line for r in spec.functional), default=None), "## Requirements\n### Functional",
             result.criteria),
            (max((e.line for e in spec.endpoints), default=None), "## API Endpoints", result.endpoints),
        ])
        if added:
            text, result.version = _bump_minor(text)
            _check_reads_back(project, text, added)
        text = _with_section(text, _section(plan, state))
        if text != original:
            project.write(project.master_spec, text)
            result.written = True
            record_master_written(state, sha256_bytes(text.encode()), sha256_bytes(original.encode()))
            save_state(project, state)
    return result


def _check_reads_back(project: Project, text: str, added: list[_Addition]) -> None:
    """The master with the slices' lines added must parse, and show each line as what it was in the
    slice: a line it cannot hold (a bad path, Markdown that makes it a heading) would make VSO write
    a master the next command refuses, or add the line again at every sync. Such a line is the
    slice spec's mistake, reported at its own line; nothing is written."""
    by_text = {a.master_line: a for a in added}
    lines = [line.rstrip("\r\n") for line in markdown_lines(text)]
    try:
        spec = parse_master_spec(text.encode(), project.relative(project.master_spec))
    except SpecError as error:
        raise SpecError([_at_source(d, by_text.get(lines[d.line - 1]) if d.line else None)
                         for d in error.diagnostics]) from None
    shown = {(e.method, e.path) for e in spec.endpoints} | {r.text for r in spec.functional}
    lost = [a for a in added if a.key not in shown]
    if lost:
        raise SpecError([Diagnostic(a.source, a.line, "this line would not read back from the master spec as "
                                                      "written (Markdown syntax or a control character in "
                                                      "it?); write it as plain text. Nothing was added to "
                                                      "the master spec")
                         for a in lost])


def _at_source(problem: Diagnostic, addition: _Addition | None) -> Diagnostic:
    if addition is None:
        return problem
    return Diagnostic(addition.source, addition.line, f"{problem.message}. Nothing was added to the master spec")


def section_is_current(project: Project) -> bool:
    """The master holds the generated section the plan and the slices' versions make. A text
    search, not a parse: this is on the path of every unchanged `vso decompose` (parsing the
    master again cost 0.15 s of its 0.9 s at 1,000 slices), and the section is VSO's own text."""
    text = project.master_spec.read_bytes().decode("utf-8").replace("\r\n", "\n")
    body = _section(load_plan(project), load_state(project)).rstrip("\n")
    return f"## Vertical Slices\n{body}\n" in text


def slice_additions(project: Project, s: PlannedSlice, recorded: str | None) -> list[_Addition]:
    """Endpoints and user criteria in the slice's spec.md that are not in what VSO generated for it
    (`recorded`: the hash of that, from state.json), as the master lines they become."""
    current = project.slices_dir / s.slice_id / "spec.md"
    if file_hash(current, project.root) in (None, recorded):
        return []  # what VSO generated (the common case: no baseline to load, no path to resolve)
    project.inside(current)  # edited: its text may enter the master, so it must come from inside the project
    generated = load_baseline(project, s.slice_id).files.get("spec.md")
    ours = read_text(current, project.root)
    if generated is None or ours is None:
        return []
    source = project.relative(current)
    added = []
    base_endpoints = {line for _, line in _section_lines(generated, "## API Specification")}
    for number, line in _section_lines(ours, "## API Specification"):
        if line in base_endpoints or not line.startswith("- "):
            continue
        if not (m := _ENDPOINT.match(line)):
            raise SpecError(Diagnostic(source, number, "an endpoint in a slice spec reads "
                                                       "`- METHOD /path → body → description`; fix the line"))
        added.append(_Addition(f"- {m[1]} {m[2]} → {m[3].strip()} [{s.name}]", (m[1], m[2]), source, number))
    base_criteria = {line for _, line in _section_lines(generated, "### As a user, I can:")}
    for number, line in _section_lines(ours, "### As a user, I can:"):
        if line.startswith("- ") and line not in base_criteria and not line.startswith("- call `"):
            added.append(_Addition(f"- {line[2:].strip()} [{s.name}]", line[2:].strip(), source, number))
    return added


def _section_lines(text: str, heading: str) -> list[tuple[int, str]]:
    """(line number, line) under the heading, up to the next heading of its level or above; lines
    as the Markdown parser counts them, so the numbers are the ones an editor shows."""
    lines = [line.rstrip("\r\n") for line in markdown_lines(text)]
    if heading not in lines:
        return []
    start = lines.index(heading) + 1
    level = heading.split(" ", 1)[0]
    out = []
    for number, line in enumerate(lines[start:], start + 1):
        if line.startswith("#") and len(line.split(" ", 1)[0]) <= len(level):
            break
        out.append((number, line))
    return out


def _insert_items(text: str, lists: list[tuple[int | None, str, list[str]]]) -> str:
    """Adds each list's items after the item the parser found at its line (and that item's
    continuation lines), in the file's own line endings. A list with no such item gets its `title`
    headings, right before the generated section: whatever follows that section's heading is VSO's
    and would be replaced."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = markdown_lines(text)
    found = generated_section(text)
    blocks = []
    for order, (line, title, items) in enumerate(lists):
        if not items:
            continue
        new = [item + newline for item in items]
        if line is None:
            at = found.start if found is not None else len(lines)
            new = [heading + newline for heading in title.split("\n")] + new + [newline]
        else:
            at = line
            while at < len(lines) and lines[at].strip() and (lines[at][0] in " \t" or lines[at][0] not in "-*+#"):
                at += 1  # a continuation line or a nested bullet of that item
        blocks.append((at, order, new))
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    # Bottom up, so each position still points where it did; at one position, the first list first.
    for at, _, new in sorted(blocks, reverse=True):
        lines[at:at] = new
    return "".join(lines)


def _bump_minor(text: str) -> tuple[str, str | None]:
    found = _VERSION.search(text)
    if not found:
        return text, None
    new = bump(found[2], "minor")
    return text[:found.start(2)] + new + text[found.end(2):], new


def _section(plan: Plan, state: dict) -> str:
    rows = [{"slice_id": s.slice_id, "version": state["slices"].get(s.slice_id, {}).get("version", ""),
             "dependencies": s.dependencies, "platform": s.platform} for s in plan.slices]
    edges = [(dep, s.slice_id) for s in plan.slices for dep in s.dependencies]
    return render("project/vertical-slices-section.md.j2", rows=rows,
                  graph=mermaid([(s.slice_id, s.name) for s in plan.slices], edges))


def _with_section(text: str, body: str) -> str:
    """The master with its generated section replaced (added at the end when missing). The parser
    finds it (generated_section), and the file keeps its own line endings."""
    newline = "\r\n" if "\r\n" in text else "\n"
    section = [f"## Vertical Slices{newline}"] + [f"{line}{newline}" for line in body.rstrip("\n").split("\n")]
    lines = markdown_lines(text)
    found = generated_section(text)
    if found is None:
        return text.rstrip("\r\n") + newline + newline + "".join(section)
    tail = lines[found.stop:]
    return "".join(lines[:found.start] + section + ([newline] + tail if tail else []))
