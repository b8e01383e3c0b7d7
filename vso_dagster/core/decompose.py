"""The decomposition steps over a project on disk: parse, plan (stable IDs, plan.json, state.json),
then write the slices whose inputs changed. The Dagster assets and the benchmark both call these."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpecError, VSOError
from .master_spec import read_master_spec
from .model import MasterSpec
from .plan import Plan, build_plan, unassigned_errors
from .project import BatchWriter, Project, file_hash, sha256_bytes
from .refine import Refiner
from .scaffold_project import ensure_deployment_configs
from .slice_files import slice_files
from .state import bump_patch, load_state, now, save_state
from .templating import fingerprint

log = logging.getLogger("vso.decompose")
FIRST_VERSION = "1.0.0"


@dataclass
class SliceWrite:
    slice_id: str
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept_edits: list[str] = field(default_factory=list)


def read_project_spec(project: Project) -> MasterSpec:
    return read_master_spec(project.master_spec, shown_as=project.relative(project.master_spec))


def plan_project(project: Project, spec: MasterSpec, *, strict: bool = False) -> Plan:
    """Build the plan and record it: new IDs and statuses in state.json, the plan in plan.json."""
    with project.lock():
        state = load_state(project)
        plan = _planned(spec, state, strict)
        for item in plan.unassigned:
            log.warning("%s:%s: %s %r is not assigned to any component (%s)",
                        spec.path, item.line, item.kind, item.label, item.reason)
        _record_plan(state, plan, spec)
        for path in ensure_deployment_configs(project):
            log.info("created %s", path)
        text = plan.to_json()
        if not project.plan_file.exists() or project.plan_file.read_text() != text:
            project.write(project.plan_file, text)
        save_state(project, state)
    log.info("planned %d slices (%d retired, %d unassigned items) from %s v%s",
             len(plan.slices), len(plan.retired), len(plan.unassigned), spec.path, spec.version)
    return plan


def _record_plan(state: dict, plan: Plan, spec: MasterSpec) -> None:
    slices = state["slices"]
    for s in plan.slices:
        entry = slices.get(s.slice_id)
        if entry is None:
            entry = slices[s.slice_id] = {"version": FIRST_VERSION, "status": "draft", "last_modified": now()}
            log.info("new slice %s for component %r", s.slice_id, s.name)
        elif entry.get("status") == "retired":
            entry["status"] = "draft"
            log.info("slice %s is back: component %r returned to the master spec", s.slice_id, s.name)
        entry.update(component=s.name, dependencies=s.dependencies, platform=s.platform)
    for slice_id in plan.retired:
        if slices[slice_id].get("status") != "retired":
            slices[slice_id]["status"] = "retired"
            log.info("slice %s retired: its component left the master spec (its files stay)", slice_id)
    state["master_spec"] = {"title": spec.title, "version": spec.version, "hash": spec.content_hash,
                            "generator": fingerprint()}


def plan_is_current(project: Project, spec: MasterSpec) -> bool:
    """The recorded plan came from this very spec (and these templates): planning again changes nothing."""
    recorded = load_state(project).get("master_spec") or {}
    return (recorded.get("hash") == spec.content_hash and recorded.get("generator") == fingerprint()
            and project.plan_file.exists())


def load_plan(project: Project) -> dict:
    try:
        return json.loads(project.plan_file.read_text())
    except FileNotFoundError:
        raise VSOError(f"{project.relative(project.plan_file)}: no slice plan yet; materialize "
                       "slice_plan first (`vso decompose`)") from None


def stale_slice_ids(project: Project, plan: dict) -> list[str]:
    """Slices whose inputs changed since their files were written, or whose files went missing."""
    slices = load_state(project)["slices"]
    stale = []
    for s in plan["slices"]:
        entry = slices.get(s["slice_id"], {})
        files = entry.get("files")
        if entry.get("input_hash") != s["input_hash"] or not files or not all(
            (project.slices_dir / s["slice_id"] / rel).exists() for rel in files
        ):
            stale.append(s["slice_id"])
    return stale


def write_slices(project: Project, plan: dict, slice_ids: list[str], refine: Refiner | None = None) -> list[SliceWrite]:
    """Render and write the given slices; an unchanged file is not touched, an edited one is kept.
    `refine`, when given, may rewrite each regenerated spec.md (see core/refine.py)."""
    by_id = {s["slice_id"]: s for s in plan["slices"]}
    results = []
    with project.lock():
        state = load_state(project)
        writer = BatchWriter(project)
        for slice_id in slice_ids:
            if slice_id not in by_id:
                log.warning("%s is not in the current plan (retired or unknown); nothing to write", slice_id)
                continue
            results.append(_write_slice(project, writer, plan["master"], by_id[slice_id], state, refine))
        save_state(project, state)
    return results


def _write_slice(project: Project, writer: BatchWriter, master: dict, s: dict, state: dict,
                 refine: Refiner | None) -> SliceWrite:
    entry = state["slices"][s["slice_id"]]
    if entry.get("input_hash") not in (None, s["input_hash"]) and entry.get("files"):
        entry["version"] = bump_patch(entry["version"])
    files = slice_files(master, s, entry["version"], entry["status"])
    if refine is not None:
        files["spec.md"] = refine(s, files["spec.md"])
    recorded: dict[str, str] = entry.get("files", {})
    slice_dir = project.slice_dir(s["slice_id"])
    result, hashes = SliceWrite(s["slice_id"]), {}
    for rel, content in files.items():
        target = slice_dir / rel
        data = content.encode()
        new, on_disk, before = sha256_bytes(data), file_hash(target), recorded.get(rel)
        if on_disk == new:
            hashes[rel] = new
        elif new == before and on_disk is not None:
            hashes[rel] = before  # VSO has nothing new for this file: the edit on disk simply stands
        elif on_disk is None or on_disk == before:
            writer.write(target, data)
            hashes[rel] = new
            result.written.append(rel)
        else:
            hashes[rel] = before or on_disk
            result.kept_edits.append(rel)
    for rel in sorted(set(recorded) - set(files)):
        target = project.inside(slice_dir / rel)  # about to unlink: check the whole path
        if file_hash(target) == recorded[rel]:
            target.unlink()
            result.removed.append(rel)
        elif target.exists():
            result.kept_edits.append(rel)
    _record_conflicts(state, s["slice_id"], result.kept_edits)
    if result.written or result.removed:
        entry["last_modified"] = now()
        log.info("%s v%s: wrote %d files%s", s["slice_id"], entry["version"], len(result.written),
                 f", removed {len(result.removed)}" if result.removed else "")
    entry.update(files=hashes, input_hash=s["input_hash"])
    return result


def _record_conflicts(state: dict, slice_id: str, paths: list[str]) -> None:
    """An edited file is never overwritten: the master's new version waits here for a merge.
    The slice's conflicts are exactly the files kept in this write; one already known keeps its date."""
    known = {c["path"]: c for c in state["conflicts"] if c.get("slice_id") == slice_id}
    others = [c for c in state["conflicts"] if c.get("slice_id") != slice_id]
    current = []
    for rel in paths:
        path = f"vertical-slices/{slice_id}/{rel}"
        log.warning("%s was edited after VSO wrote it; kept the edit, recorded a conflict", path)
        current.append(known.get(path) or {"slice_id": slice_id, "path": path, "resolution": "manual",
                                           "reason": "edited downstream; the regenerated version was not applied",
                                           "detected_at": now()})
    state["conflicts"] = others + current


def check_project_spec(project: Project, *, strict: bool = False, spec_path: Path | None = None) -> Plan:
    """What `vso validate` does: parse and plan, write nothing."""
    spec = read_master_spec(spec_path, str(spec_path)) if spec_path else read_project_spec(project)
    return _planned(spec, load_state(project), strict)


def _planned(spec: MasterSpec, state: dict, strict: bool) -> Plan:
    """The plan against the IDs state.json knows; with `strict`, nothing may be left unassigned."""
    plan = build_plan(spec, state["slices"], generator=fingerprint())
    if strict and plan.unassigned:
        raise SpecError(unassigned_errors(plan, spec.path))
    return plan
