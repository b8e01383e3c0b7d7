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

from .baselines import load_baseline
from .decompose import load_plan, read_project_spec
from .master_spec import generated_section
from .plan import mermaid
from .project import Project, sha256_bytes
from .spec_blocks import markdown_lines
from .state import bump, load_state, save_state
from .templating import render

_ENDPOINT = re.compile(r"^- ([A-Z]+) (/\S*) → [^→]+ → (.+)$")
_VERSION = re.compile(r'^(version:\s*["\']?)(\d+\.\d+\.\d+)(["\']?\s*)$', re.M)


@dataclass
class MasterSync:
    written: bool = False  # master-spec.md changed (its generated section, or added lines)
    endpoints: list[str] = field(default_factory=list)  # master lines added
    criteria: list[str] = field(default_factory=list)
    version: str | None = None  # the master's new version, when it was bumped


def sync_master(project: Project) -> MasterSync:
    with project.lock():
        # Bytes, decoded as they are: read_text() would turn CRLF into LF, and the rewrite with it.
        original = text = project.master_spec.read_bytes().decode("utf-8")
        result = MasterSync()
        spec = read_project_spec(project)
        plan = load_plan(project)
        state = load_state(project)
        known_endpoints = {(e.method, e.path) for e in spec.endpoints}
        known_criteria = {r.text for r in spec.functional}
        for s in plan["slices"]:
            recorded = state["slices"].get(s["slice_id"], {}).get("files", {}).get("spec.md")
            endpoints, criteria = slice_additions(project, s["slice_id"], recorded)
            result.endpoints += [f"- {m} {p} → {d} [{s['name']}]" for m, p, d in endpoints
                                 if (m, p) not in known_endpoints]
            result.criteria += [f"- {c} [{s['name']}]" for c in criteria if c not in known_criteria]
        if result.endpoints:
            text = _append_to_list(text, r"^##\s+api\s+endpoints\s*$", "## API Endpoints", result.endpoints)
        if result.criteria:
            text = _append_to_list(text, r"^###\s+functional\s*$", "### Functional", result.criteria)
        if result.endpoints or result.criteria:
            text, result.version = _bump_minor(text)
        text = _with_section(text, _section(plan, state))
        if text != original:
            project.write(project.master_spec, text)
            result.written = True
            # What VSO wrote, on top of which text: VSO commits the file only when both still hold
            # (its own change to a committed master, no uncommitted edit of someone else in it).
            state["master_spec"] = {**(state.get("master_spec") or {}), "written": sha256_bytes(text.encode()),
                                    "written_over": sha256_bytes(original.encode())}
            save_state(project, state)
    return result


def section_is_current(project: Project) -> bool:
    """The master holds the generated section the plan and the slices' versions make. A text
    search, not a parse: this is on the path of every unchanged `vso decompose` (parsing the
    master again cost 0.15 s of its 0.9 s at 1,000 slices), and the section is VSO's own text."""
    text = project.master_spec.read_bytes().decode("utf-8").replace("\r\n", "\n")
    body = _section(load_plan(project), load_state(project)).rstrip("\n")
    return f"## Vertical Slices\n{body}\n" in text


def slice_additions(project: Project, slice_id: str,
                    recorded: str | None) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Endpoints (method, path, description) and user criteria in the slice's spec.md that are not
    in what VSO generated for it (`recorded`: the hash of that, from state.json)."""
    current = project.slices_dir / slice_id / "spec.md"
    if not current.exists() or sha256_bytes(current.read_bytes()) == recorded:
        return [], []  # what VSO generated (the common case: no baseline to load, no path to resolve)
    project.inside(current)  # edited: its text may enter the master, so it must come from inside the project
    generated = load_baseline(project, slice_id).files.get("spec.md")
    if generated is None:
        return [], []
    ours = current.read_text()
    new_lines = [line for line in _section_lines(ours, "## API Specification")
                 if line not in set(_section_lines(generated, "## API Specification"))]
    endpoints = [(m[1], m[2], m[3].strip()) for line in new_lines if (m := _ENDPOINT.match(line))]
    base_criteria = set(_section_lines(generated, "### As a user, I can:"))
    criteria = [line[2:].strip() for line in _section_lines(ours, "### As a user, I can:")
                if line.startswith("- ") and line not in base_criteria and not line.startswith("- call `")]
    return endpoints, criteria


def _section_lines(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    if heading not in lines:
        return []
    start = lines.index(heading) + 1
    level = heading.split(" ", 1)[0]
    out = []
    for line in lines[start:]:
        if line.startswith("#") and len(line.split(" ", 1)[0]) <= len(level):
            break
        out.append(line)
    return out


def _append_to_list(text: str, heading: str, title: str, items: list[str]) -> str:
    """Adds items after the last list item under the heading (`title` is added when it is missing)."""
    lines = text.split("\n")
    pattern = re.compile(heading, re.I)
    at = next((i for i, line in enumerate(lines) if pattern.match(line)), None)
    if at is None:
        return text.rstrip("\n") + f"\n\n{title}\n" + "\n".join(items) + "\n"
    end = at + 1
    for i in range(at + 1, len(lines)):
        if lines[i].startswith("#"):
            break
        if lines[i].startswith("- "):
            end = i + 1
    return "\n".join(lines[:end] + items + lines[end:])


def _bump_minor(text: str) -> tuple[str, str | None]:
    found = _VERSION.search(text)
    if not found:
        return text, None
    new = bump(found[2], "minor")
    return text[:found.start(2)] + new + text[found.end(2):], new


def _section(plan: dict, state: dict) -> str:
    rows = [{"slice_id": s["slice_id"], "version": state["slices"].get(s["slice_id"], {}).get("version", ""),
             "dependencies": s["dependencies"], "platform": s["platform"]} for s in plan["slices"]]
    edges = [(dep, s["slice_id"]) for s in plan["slices"] for dep in s["dependencies"]]
    return render("project/vertical-slices-section.md.j2", rows=rows,
                  graph=mermaid([(s["slice_id"], s["name"]) for s in plan["slices"]], edges))


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
