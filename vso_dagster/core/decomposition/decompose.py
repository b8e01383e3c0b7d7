"""The decomposition steps over a project on disk: parse, plan (stable IDs, plan.json, state.json),
then write the slices whose inputs changed. The Dagster assets and the benchmark both call these."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..base import progress
from ..base.baselines import Baseline, baseline_path, load_baseline
from ..base.bulk import gc_paused
from ..base.errors import SpecError
from ..base.gitrun import head_or_empty_tree
from ..base.master_spec import read_master_spec, read_project_spec
from ..base.merge import Merge, change_kind, slice_shape, three_way
from ..base.model import MasterSpec
from ..base.plan import Plan, PlannedSlice, load_plan
from ..base.project import (
    PROPOSAL_SUFFIX,
    SEED_FILES,
    SLICES_DIR,
    BatchWriter,
    Project,
    file_hash,
    read_text,
    sha256_bytes,
)
from ..base.slice_files import slice_files
from ..base.state import (
    bump,
    conflicts_of,
    load_state,
    now,
    record_plan,
    record_slice_written,
    replace_conflicts,
    save_state,
)
from ..base.templating import fingerprint
from .planning import build_plan, unassigned_errors
from .refine import Refiner
from .scaffold_project import ensure_deployment_configs

log = logging.getLogger("vso.decompose")
_PLAN_EVENTS = {
    "new": "new slice %s for component %r",
    "back": "slice %s is back: component %r returned to the master spec",
    "retired": "slice %s retired: its component %r left the master spec (its files stay)",
}


@dataclass
class SliceWrite:
    slice_id: str
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # edited downstream, master's change merged in cleanly
    conflicts: list[str] = field(default_factory=list)  # edited downstream, kept; proposal written beside


def plan_project(project: Project, spec: MasterSpec, *, strict: bool = False) -> Plan:
    """Build the plan and record it: new IDs and statuses in state.json, the plan in plan.json."""
    with project.lock():
        state = load_state(project)
        plan = _planned(spec, state, strict)
        for item in plan.unassigned:
            log.warning("%s:%s: %s %r is not assigned to any component (%s)",
                        spec.path, item.line, item.kind, item.label, item.reason)
        # generated_from: where the first `vso sync` (or the sensor's first tick) starts, so no commit
        # after it is missed.
        events = record_plan(state, plan, {"title": spec.title, "version": spec.version, "hash": spec.content_hash,
                                           "generator": fingerprint(),
                                           "generated_from": head_or_empty_tree(project.root)})
        for event, slice_id, name in events:
            log.info(_PLAN_EVENTS[event], slice_id, name)
        for path in ensure_deployment_configs(project):
            log.info("created %s", path)
        text = plan.to_json()
        if not project.plan_file.exists() or project.plan_file.read_text() != text:
            project.write(project.plan_file, text)
        save_state(project, state)
    log.info("planned %d slices (%d retired, %d unassigned items) from %s v%s",
             len(plan.slices), len(plan.retired), len(plan.unassigned), spec.path, spec.version)
    return plan


def plan_is_current(project: Project, spec: MasterSpec) -> bool:
    """The recorded plan came from this very spec (and these templates): planning again changes nothing."""
    recorded = load_state(project).get("master_spec") or {}
    return (recorded.get("hash") == spec.content_hash and recorded.get("generator") == fingerprint()
            and project.plan_file.exists())


def current_plan(project: Project) -> Plan | None:
    """The recorded plan when decomposing now would do nothing (the spec is the one planned, every
    slice is written and current); else None. It reads no more than a decomposition would."""
    spec = read_project_spec(project)
    if not plan_is_current(project, spec):
        return None
    plan = load_plan(project)
    return None if stale_slice_ids(project, plan) else plan


@dataclass(frozen=True)
class Preview:
    """What planning the current master spec would do, computed without writing anything."""

    plan_current: bool
    slices: list[str]  # every slice of the plan, dependencies first
    stale: list[str]  # slices whose generated content would change (or whose files are missing)
    new: list[str]  # slice IDs the plan would add


def preview(project: Project) -> Preview:
    spec = read_project_spec(project)
    state = load_state(project)
    current = plan_is_current(project, spec)
    plan = load_plan(project) if current else _planned(spec, state, strict=False)
    ids = plan.slice_ids
    return Preview(current, ids, stale_slice_ids(project, plan), [i for i in ids if i not in state["slices"]])


def stale_slice_ids(project: Project, plan: Plan) -> list[str]:
    """Slices whose inputs changed since their files were written, or whose files went missing."""
    slices = load_state(project)["slices"]
    stale = []
    root = str(project.slices_dir)
    for s in plan.slices:
        entry = slices.get(s.slice_id, {})
        files = entry.get("files")
        base = f"{root}/{s.slice_id}/"  # strings and os.access: 11,000 pathlib checks cost 2× the syscalls
        if entry.get("input_hash") != s.input_hash or not files or not all(
            os.access(base + rel, os.F_OK) for rel in files
        ):
            stale.append(s.slice_id)
    return stale


def write_slices(project: Project, plan: Plan, slice_ids: list[str], refine: Refiner | None = None) -> list[SliceWrite]:
    """Render and write the given slices; an unchanged file is not touched, an edited one is kept.
    `refine`, when given, may rewrite each regenerated spec.md (see core/decomposition/refine.py)."""
    by_id = {s.slice_id: s for s in plan.slices}
    results = []
    with project.lock():
        state = load_state(project)
        writer = BatchWriter(project)
        for done, slice_id in enumerate(slice_ids, 1):
            if slice_id not in by_id:
                log.warning("%s is not in the current plan (retired or unknown); nothing to write", slice_id)
                continue
            results.append(_write_slice(project, writer, plan.master, by_id[slice_id], state, refine))
            progress.step("writing slices", done, len(slice_ids))
        save_state(project, state)
    return results


def decompose_project(project: Project, refine: Refiner | None = None) -> tuple[Plan, list[str]]:
    """The decomposition's steps without Dagster: plan the master spec, then write the slices whose
    inputs changed. Returns the plan and the slices written. (`vso decompose` runs the same steps
    as Dagster runs, one per stage, so each shows in the UI.)"""
    plan_project(project, read_project_spec(project))
    plan = load_plan(project)
    stale = stale_slice_ids(project, plan)
    write_slices(project, plan, stale, refine=refine)
    return plan, stale


def _write_slice(project: Project, writer: BatchWriter, master: dict, s: PlannedSlice, state: dict,
                 refine: Refiner | None) -> SliceWrite:
    entry = state["slices"][s.slice_id]
    baseline = load_baseline(project, s.slice_id)
    shape = slice_shape(master, s)
    version = entry["version"]
    if entry.get("input_hash") not in (None, s.input_hash) and entry.get("files"):
        version = bump(version, change_kind(baseline.shape, shape))
    files = slice_files(master, s, version)
    if refine is not None:
        files["spec.md"] = refine(s, files["spec.md"])
    recorded: dict[str, str] = entry.get("files", {})
    slice_dir = project.slice_dir(s.slice_id)
    _no_link_leads_out(project, slice_dir)
    before_baseline = baseline.to_bytes()
    files_writer = _SliceFiles(project, writer, state, s.slice_id, baseline, SliceWrite(s.slice_id))
    hashes = {rel: files_writer.write(slice_dir / rel, rel, content, recorded.get(rel))
              for rel, content in files.items()}
    gone = [rel for rel in sorted(set(recorded) - set(files))
            if files_writer.drop(slice_dir, rel, recorded[rel])]  # edited files the master no longer generates
    result = files_writer.result
    for rel in set(baseline.pending) - set(result.conflicts):
        baseline.pending.pop(rel)
    _record_conflicts(project, state, s.slice_id, result.conflicts, files_writer.proposals, master["version"],
                      version, gone)
    baseline.shape = shape
    if baseline.to_bytes() != before_baseline:
        writer.write(baseline_path(project, s.slice_id), baseline.to_bytes())
    changed = bool(result.written or result.removed or result.merged)
    if changed:
        log.info("%s v%s: wrote %d files%s%s", s.slice_id, version, len(result.written),
                 f", merged {len(result.merged)}" if result.merged else "",
                 f", removed {len(result.removed)}" if result.removed else "")
    record_slice_written(state, s.slice_id, version, hashes, s.input_hash, changed)
    return result


@dataclass
class _SliceFiles:
    """One slice's files as the master now generates them, each put beside what is on disk: written
    where VSO's last version stands, merged into an edit, or left alone with a proposal beside it."""
    project: Project
    writer: BatchWriter
    state: dict
    slice_id: str
    baseline: Baseline
    result: SliceWrite
    proposals: dict[str, str] = field(default_factory=dict)  # file -> hash of the proposal written beside it

    def write(self, target: Path, rel: str, content: str, before: str | None) -> str | None:
        """The file's new content where nobody else changed it; returns the hash to record for it."""
        project, baseline, result = self.project, self.baseline, self.result
        data = content.encode()
        new, on_disk = sha256_bytes(data), file_hash(target, project.root)
        if new == before and on_disk is not None:
            baseline.files.setdefault(rel, content)  # VSO has nothing new for it: it stands, edited or not
            if on_disk != before and rel in baseline.pending:  # still waiting on a resolution
                result.conflicts.append(rel)
            return before
        if rel in SEED_FILES and on_disk not in (None, new, before):
            baseline.files[rel] = content  # the implementation owns it now
            return before
        if on_disk in (None, new, before):
            if on_disk != new:
                self.writer.write(target, data)
                result.written.append(rel)
        else:
            merge = _merge(baseline.files.get(rel), before, read_text(target, project.root), content)
            if merge is None or not merge.clean:
                self._propose(target, rel, (merge.text if merge else content).encode())
                baseline.pending[rel] = content
                result.conflicts.append(rel)
                return before
            self.writer.write(target, merge.text.encode())
            result.merged.append(rel)
        baseline.files[rel] = content
        baseline.pending.pop(rel, None)
        return new

    def _propose(self, target: Path, rel: str, proposal: bytes) -> None:
        """The edit stays untouched; the master's version waits beside it for `vso resolve`."""
        if not _proposal_edited(self.project, self.state, self.slice_id, rel):
            self.writer.write(target.with_name(target.name + PROPOSAL_SUFFIX), proposal)
            self.proposals[rel] = sha256_bytes(proposal)

    def drop(self, slice_dir: Path, rel: str, recorded: str) -> bool:
        """A file the master no longer generates goes if VSO's version stands; True if it was edited."""
        target = self.project.inside(slice_dir / rel)  # about to unlink: check the whole path
        self.baseline.files.pop(rel, None)
        if file_hash(target, self.project.root) == recorded:
            target.unlink()
            self.result.removed.append(rel)
            _prune_empty_dirs(target.parent, slice_dir)
            return False
        if target.exists():
            self.result.conflicts.append(rel)
            return True
        return False


def _proposal_edited(project: Project, state: dict, slice_id: str, rel: str) -> bool:
    """Someone is working on the proposal VSO wrote for this conflict: leave it to them."""
    path = f"{SLICES_DIR}/{slice_id}/{rel}"
    record = next((c for c in state["conflicts"] if c.get("path") == path and c.get("proposal")), None)
    if record is None:
        return False
    on_disk = file_hash(project.root / record["proposal"], project.root)
    return on_disk is not None and on_disk != record.get("proposal_hash")


def _merge(base: str | None, base_hash: str | None, ours: str, theirs: str) -> Merge | None:
    """None when there is no trustworthy base to merge from (VSO's record and the kept base differ)."""
    if base is None or sha256_bytes(base.encode()) != base_hash:
        return None
    return three_way(base, ours, theirs)


def _record_conflicts(project: Project, state: dict, slice_id: str, paths: list[str], proposals: dict[str, str],
                      master_version: str, slice_version: str, gone: list[str]) -> None:
    """An edited file is never overwritten: the master's new version waits beside it. The slice's
    conflicts are exactly the files in conflict after this write; one already known keeps its record.
    A proposal VSO wrote for a conflict that no longer exists goes, unless someone edited it."""
    known = {c["path"]: c for c in conflicts_of(state, {slice_id})}
    current = []
    for rel in paths:
        path = f"{SLICES_DIR}/{slice_id}/{rel}"
        if path in known and rel not in proposals:
            current.append(known[path])
            continue
        if rel in gone:
            log.warning("%s was edited after VSO wrote it, and the master no longer generates it; kept the edit",
                        path)
        else:
            log.warning("%s was edited after VSO wrote it and the master's change does not merge cleanly; kept the "
                        "edit, wrote %s%s beside it", path, rel.rsplit("/", 1)[-1], PROPOSAL_SUFFIX)
        record = known.get(path, {"detected_at": now()})
        current.append({**record, "slice_id": slice_id, "path": path, "resolution": "manual",
                        "reason": "edited downstream, and the master no longer generates it" if rel in gone else
                        "edited downstream, and the regenerated version overlaps the edit",
                        "proposal": path + PROPOSAL_SUFFIX if rel in proposals else record.get("proposal"),
                        "proposal_hash": proposals.get(rel, record.get("proposal_hash")),
                        "master_version": master_version, "slice_version": slice_version})
    for path, record in known.items():
        if path not in {c["path"] for c in current} and record.get("proposal"):
            proposal = project.inside(project.root / record["proposal"])
            if file_hash(proposal, project.root) == record.get("proposal_hash"):
                proposal.unlink()
    replace_conflicts(state, slice_id, current)


def check_project_spec(project: Project, *, strict: bool = False, spec_path: Path | None = None) -> Plan:
    """What `vso validate` does: parse and plan, write nothing."""
    spec = read_master_spec(spec_path, str(spec_path)) if spec_path else read_project_spec(project, keep_cache=False)
    return _planned(spec, load_state(project), strict)


def _planned(spec: MasterSpec, state: dict, strict: bool) -> Plan:
    """The plan against the IDs state.json knows; with `strict`, nothing may be left unassigned."""
    with gc_paused():
        plan = build_plan(spec, state["slices"], generator=fingerprint())
    if strict and plan.unassigned:
        raise SpecError(unassigned_errors(plan, spec.path))
    return plan


def _prune_empty_dirs(directory: Path, slice_dir: Path) -> None:
    """Removes the directories a removed file leaves empty, up to (not including) the slice's own."""
    while directory != slice_dir and directory.is_relative_to(slice_dir) and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def _no_link_leads_out(project: Project, slice_dir: Path) -> None:
    """Refuses a slice whose directory holds a symlink that leads outside the project, before a
    file is read or written through it (one walk of the directory: links are rare, so each is
    resolved only when found)."""
    for directory, dirs, names in os.walk(slice_dir):
        for name in dirs + names:
            path = Path(directory) / name
            if path.is_symlink():
                project.inside(path)
