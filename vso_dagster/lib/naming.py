"""What one VSO project's definitions are called in a Dagster deployment.

VSO's own checkout serves one project under the plain names (`slice_spec`, `vso_plan`, the `slices`
partitions, the `vso` resource). A Dagster project that adds VSO as a Component may hold several VSO
projects side by side; each then takes a prefix, and every name it defines carries it: asset keys
(`billing/slice_spec`), jobs, sensors and the schedule (`billing_vso_plan`), its slice partitions
(`billing_slices`, so one project's slices never show as another's) and its resource. The stage
rooms build their definitions from a Naming, so no name is spelled out twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from .resources import VSOProject

# Dagster's own rule for job, sensor and schedule names, which the prefix becomes part of (or none).
PREFIX_PATTERN = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_]*)?$")


@dataclass(frozen=True)
class Naming:
    prefix: str = ""

    def __post_init__(self) -> None:
        if not PREFIX_PATTERN.match(self.prefix):
            raise ValueError(f"key prefix {self.prefix!r}: use letters, digits and underscores, starting with a "
                             "letter (it becomes part of asset keys, job, sensor and schedule names)")

    def key(self, name: str) -> dg.AssetKey:
        """An asset's key: `slice_spec`, or `<prefix>/slice_spec`."""
        return dg.AssetKey([self.prefix, name] if self.prefix else [name])

    def check(self, asset: str, name: str) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(self.key(asset), name)

    def name(self, name: str) -> str:
        """A job, sensor, schedule, partitions or resource name: `name`, or `<prefix>_name`."""
        return f"{self.prefix}_{name}" if self.prefix else name

    def owns_run(self, run: dg.DagsterRun) -> bool:
        """Whether a run works on this project: a run of one of its jobs (each is named `vso_*` after the
        prefix), or of Dagster's own asset job on its keys (`dagster asset materialize`, `dg launch --assets`)."""
        home = [self.prefix] if self.prefix else []
        return (run.job_name.startswith(self.name("vso_"))
                or any(list(key.path[:-1]) == home for key in run.asset_selection or ()))

    @property
    def resource(self) -> str:
        """The key of the project's VSOProject resource: resources of one deployment share one namespace."""
        return self.name("vso")

    @cached_property
    def slices(self) -> dg.DynamicPartitionsDefinition:
        """One partition per slice ID (`slice-001-auth`). Keys are only ever added: a retired slice keeps
        its partition so its history stays browsable in the UI."""
        return dg.DynamicPartitionsDefinition(name=self.name("slices"))

    def project_resource(self, context) -> VSOProject:
        """The step's (or tick's) VSOProject: asset, sensor and schedule functions ask for it by key."""
        return getattr(context.resources, self.resource)
