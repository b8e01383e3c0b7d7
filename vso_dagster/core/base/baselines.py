"""What VSO generated last for each slice: the base of the next three-way merge.

Kept in `.slice-orchestrator/generated/<slice>.json` (committed, so a teammate's
next decomposition merges from the same base): every generated file's content, the content waiting
on an unresolved conflict, and the slice's shape for the semver rule (see merge.change_kind).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .project import Project


@dataclass
class Baseline:
    files: dict[str, str] = field(default_factory=dict)  # relative path -> what VSO generated last
    pending: dict[str, str] = field(default_factory=dict)  # relative path -> regenerated, not applied (conflict)
    shape: dict | None = None

    def to_bytes(self) -> bytes:
        body = {"files": self.files, "pending": self.pending, "shape": self.shape}
        return (json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def baseline_path(project: Project, slice_id: str):
    return project.state_dir / "generated" / f"{slice_id}.json"


def load_baseline(project: Project, slice_id: str) -> Baseline:
    try:
        raw = json.loads(baseline_path(project, slice_id).read_text())
    except FileNotFoundError:
        return Baseline()
    return Baseline(raw.get("files", {}), raw.get("pending", {}), raw.get("shape"))
