"""`vso resolve`: settles a slice's conflicts between the master's change and an edit in the slice.

master: the regenerated file replaces the edit; slice: the edit stays (VSO's own frontmatter fields,
such as the version, follow the regenerated file); merged: the proposal beside the file (the
three-way merge, its conflict markers edited away) replaces it. Either way the regenerated version
becomes the base of the next merge, and the proposal goes. A branch that could not be merged home
(kind "branch") is settled once a person has merged it.
"""

from __future__ import annotations

import logging

from ..base.baselines import baseline_path, load_baseline
from ..base.errors import Diagnostic, VSOError
from ..base.gitrun import is_ancestor
from ..base.merge import CONFLICT_MARKERS, with_owned_fields
from ..base.project import PROPOSAL_SUFFIX, Project, read_text, sha256_bytes
from ..base.state import conflicts_of, load_state, save_state, settle

TAKES = ("master", "slice", "merged")
REMOVE = object()  # what _chosen returns for a file the master no longer generates, taken as the master has it
log = logging.getLogger("vso.decompose")


def resolve(project: Project, slice_id: str, take: str) -> list[str]:
    """Returns the paths it settled."""
    if take not in TAKES:
        raise VSOError(f"--take must be one of {', '.join(TAKES)}, not {take!r}")
    with project.lock():
        state = load_state(project)
        branches = conflicts_of(state, {slice_id}, "branch")
        for conflict in branches:
            if not is_ancestor(project.root, conflict["path"], "HEAD"):
                raise VSOError(f"{slice_id}: {conflict['path']} is not merged into the checkout's branch yet; "
                               f"`git merge {conflict['path']}`, settle the conflicts, commit, then resolve again")
        mine = conflicts_of(state, {slice_id})
        if not mine and not branches:
            raise VSOError(f"{slice_id}: no conflict to resolve (`vso status` lists them)")
        baseline = load_baseline(project, slice_id)
        slice_dir = project.slice_dir(slice_id)
        chosen = {c["path"]: _chosen(project, baseline, slice_dir, c, take) for c in mine}  # check all first
        regenerated_hashes = {}
        for conflict in mine:
            rel = conflict["path"].split(f"{slice_id}/", 1)[1]
            target = project.root / conflict["path"]
            if chosen[conflict["path"]] is REMOVE:
                project.inside(target).unlink(missing_ok=True)
            elif chosen[conflict["path"]] is not None:
                project.write(target, chosen[conflict["path"]])
            regenerated = baseline.pending.pop(rel, None)
            if regenerated is not None:
                baseline.files[rel] = regenerated
                regenerated_hashes[rel] = sha256_bytes(regenerated.encode())
            proposal = target.with_name(target.name + PROPOSAL_SUFFIX)
            if proposal.exists():
                project.inside(proposal).unlink()
            log.info("%s: resolved by taking %s", conflict["path"], take)
        if mine:
            project.write(baseline_path(project, slice_id), baseline.to_bytes())
        settle(state, slice_id, regenerated_hashes)
        save_state(project, state)
    return [c["path"] for c in branches + mine]


def _chosen(project: Project, baseline, slice_dir, conflict: dict, take: str) -> str | object | None:
    """The file's new content, None to keep it as it is, or REMOVE."""
    rel = conflict["path"].split("/", 2)[2]
    if rel not in baseline.pending and rel not in baseline.files:
        # The master no longer generates the file: "master" removes it, "slice" keeps it as yours.
        if take == "merged":
            raise VSOError(f"{conflict['path']}: the master no longer generates this file, so there is nothing to "
                           f"merge; --take master removes it, --take slice keeps it as yours")
        return REMOVE if take == "master" else None
    if take == "slice":  # the edit stays; only VSO's bookkeeping fields follow the regenerated version
        current = read_text(project.root / conflict["path"], project.root)
        if current is None:
            return None  # the slice's side is a removal: nothing to write
        updated = with_owned_fields(current, baseline.pending.get(rel, current))
        return updated if updated != current else None
    if take == "master":
        if rel not in baseline.pending:
            raise VSOError(f"{conflict['path']}: VSO no longer has the regenerated version; run `vso decompose`, "
                           f"then resolve again")
        return baseline.pending[rel]
    proposal = slice_dir / (rel + PROPOSAL_SUFFIX)
    text = read_text(proposal, project.root)
    if text is None:
        raise VSOError(f"{project.relative(proposal)}: no merge proposal to take; use --take master or --take slice")
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(CONFLICT_MARKERS):
            raise VSOError(Diagnostic(project.relative(proposal), number,
                                      "still holds a conflict marker; edit the conflicting parts into one text "
                                      "(or use --take master or --take slice)"))
    return text
