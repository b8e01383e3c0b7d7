"""Master -> slice by three-way merge, so a regenerated slice keeps the edits made downstream.

base   = what VSO generated last time (kept in `.slice-orchestrator/generated/<slice>.json`),
ours   = the slice's file as it is now (edited by a person or an agent),
theirs = what VSO generates now from the changed master spec.
`git merge-file` does the merge (argv list, temporary files; no repository needed).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import VSOError
from .gitrun import run_git
from .plan import PlannedSlice

CONFLICT_MARKERS = ("<<<<<<< ", "=======", ">>>>>>> ")
# Frontmatter fields of a slice spec that are VSO's bookkeeping, not the slice's content: they follow
# the regenerated file, so that a version bump never conflicts with an edit.
OWNED_FIELDS = ("version", "master_version", "status")


@dataclass(frozen=True)
class Merge:
    text: str
    conflicts: int  # 0: clean

    @property
    def clean(self) -> bool:
        return self.conflicts == 0


def three_way(base: str, ours: str, theirs: str) -> Merge:
    ours = with_owned_fields(ours, base)
    with tempfile.TemporaryDirectory(prefix="vso-merge-") as tmp:
        paths = []
        for name, text in (("slice", ours), ("last-generated", base), ("master", theirs)):
            path = Path(tmp) / name
            path.write_text(text)
            paths.append(str(path))
        done = run_git(None, "merge-file", "-p", "--diff3", "-L", "slice (your edit)",
                       "-L", "last generated", "-L", "master (regenerated)", *paths, text=True)
    if done.returncode < 0 or done.returncode > 127:
        raise VSOError(f"git merge-file failed: {done.stderr.strip()}")
    return Merge(done.stdout, done.returncode)


def with_owned_fields(text: str, source: str) -> str:
    """`text` with the OWNED_FIELDS lines of its YAML frontmatter taken from `source`."""
    wanted = {line.split(":", 1)[0]: line for line in _frontmatter(source) if line.split(":", 1)[0] in OWNED_FIELDS}
    header = _frontmatter(text)
    if not header or not wanted:
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines[1:len(header) + 1], 1):
        key = line.split(":", 1)[0]
        if key in wanted:
            lines[number] = wanted[key]
    return "\n".join(lines)


def _frontmatter(text: str) -> list[str]:
    lines = text.split("\n")
    if not lines or lines[0] != "---" or "---" not in lines[1:]:
        return []
    return lines[1:lines.index("---", 1)]


def change_kind(before: dict | None, after: dict) -> str:
    """How much a slice's version moves when its master input changed (semver):
    major when the master spec's major version changed, minor when endpoints, acceptance criteria or
    data models were added, patch for anything else (wording)."""
    if before is None:
        return "patch"
    if before.get("master_major") != after["master_major"]:
        return "major"
    if any(set(after[key]) - set(before.get(key, [])) for key in ("endpoints", "criteria", "models")):
        return "minor"
    return "patch"


def slice_shape(master: dict, s: PlannedSlice) -> dict:
    """What change_kind compares, from a planned slice."""
    return {
        "master_major": int(str(master["version"]).split(".")[0]),
        "endpoints": sorted(f"{ep['method']} {ep['path']}" for ep in s.endpoints),
        "criteria": sorted(_text(item) for item in s.functional + s.non_functional),
        "models": sorted(m["name"] for m in s.models),
    }


def _text(item) -> str:
    return item["text"] if isinstance(item, dict) and "text" in item else str(item)
