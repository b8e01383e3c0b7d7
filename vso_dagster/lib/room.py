from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


@dataclass(frozen=True)
class Room:
    """One stage's definitions for one project, as its factory built them from a Naming. Jobs are kept
    by their plain name (`vso_plan`), so the assembly can hand one room's job to another's sensor: a
    job must be one object wherever it is targeted."""

    assets: Sequence[Any] = ()
    asset_checks: Sequence[Any] = ()
    jobs: Mapping[str, UnresolvedAssetJobDefinition] = field(default_factory=dict)
    sensors: Sequence[Any] = ()
    schedules: Sequence[Any] = ()
