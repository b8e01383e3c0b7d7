"""VSO as a Dagster Component: an existing `dg` project adds a VSO project with one defs.yaml.

    type: vso_dagster.component.VSOComponent
    attributes:
      project_root: ../../../billing     # the VSO project (relative: to this defs.yaml's folder)
      key_prefix: billing                # billing/slice_spec, billing_vso_plan, billing_slices
      group: billing                     # optional: else [dagster] group, else the stage's own
      owners: ["team:billing"]           # optional: else [dagster] owners

Each VSO project in the deployment takes its own prefix, so two never clash: asset keys, jobs,
sensors, the schedule, the slice partitions and the resource are all named under it.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from dagster.components.scaffold.scaffold import ScaffoldRequest, scaffold_with
from pydantic import BaseModel, Field, field_validator

from .assembly import assemble
from .core.base.config import load_config
from .core.base.errors import VSOError
from .core.base.project import Project, atomic_write
from .core.base.templating import render
from .lib.naming import PREFIX_PATTERN, Naming
from .lib.resources import VSOProject


def _a_name_dagster_takes(prefix: str) -> str:
    Naming(prefix)  # raises, saying what a prefix may hold; pydantic adds where it was given
    return prefix


class ScaffoldParams(BaseModel):
    project_root: str = Field(description="The VSO project's directory, from where you run dg")
    key_prefix: str = Field(default="", description="Its prefix in this deployment (letters, digits, _)")

    _prefix = field_validator("key_prefix")(_a_name_dagster_takes)

    @field_validator("project_root")
    @classmethod
    def _a_vso_project(cls, root: str) -> str:
        if not Project.at(root).exists():
            raise ValueError(f"{Path(root).resolve()} is not a VSO project (it has no master-spec.md or "
                             ".slice-orchestrator/); give the path of one, or run `vso init` there")
        return root


class VSOScaffolder(dg.Scaffolder[ScaffoldParams]):
    """`dg scaffold defs vso_dagster.component.VSOComponent billing --project-root ../billing
    --key-prefix billing` writes a commented defs.yaml whose project_root is relative to its folder."""

    @classmethod
    def get_scaffold_params(cls) -> type[ScaffoldParams]:
        return ScaffoldParams

    def scaffold(self, request: ScaffoldRequest[ScaffoldParams]) -> None:
        folder = Path(request.target_path).resolve()
        project_root = os.path.relpath(Path(request.params.project_root).resolve(), folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / "defs.yaml", render("component/defs.yaml.j2", project_root=project_root,
                                                  key_prefix=request.params.key_prefix))


@scaffold_with(VSOScaffolder)
class VSOComponent(dg.Component, dg.Resolvable, dg.Model):
    """One VSO project (master spec -> slices -> implementations -> deployments) in this deployment."""

    project_root: str = Field(description="The VSO project's directory (where master-spec.md and "
                                          ".slice-orchestrator/ are); a relative path is taken from this "
                                          "defs.yaml's folder.")
    # A pattern, not a validator: dg then names defs.yaml's line where the prefix is wrong.
    key_prefix: str = Field(default="", pattern=PREFIX_PATTERN.pattern,
                            description="Put before every asset key (`<prefix>/slice_spec`) and every job, sensor, "
                                        "schedule and partitions name (`<prefix>_vso_plan`): letters, digits and "
                                        "underscores, starting with a letter. Required as soon as the deployment "
                                        "holds more than one VSO project.")
    group: str | None = Field(default=None, description="The asset group of all of this project's assets; "
                                                        "default: [dagster] group in its config.toml, else one "
                                                        "group per stage.")
    owners: list[str] = Field(default_factory=list, description="Owners of every asset (`team:name` or an "
                                                                "e-mail); default: [dagster] owners in its "
                                                                "config.toml.")

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        project = self.project(context.path)
        try:
            config = load_config(project)
        except VSOError as error:
            raise dg.DagsterInvalidDefinitionError(f"{project.root}: {error}") from None
        return assemble(Naming(self.key_prefix), VSOProject(root=str(project.root)),
                        timezone=config.nightly_timezone, health_interval_s=config.health.interval_s,
                        alerts_interval_s=config.alerts.interval_s,
                        owners=self.owners or config.owners,
                        group=self.group or config.group)

    def project(self, folder: Path) -> Project:
        """The VSO project `project_root` names, which must exist: a typo would otherwise serve an
        empty project whose first run fails far from the cause."""
        project = Project.at(Path(folder) / self.project_root)
        if not project.exists():
            raise dg.DagsterInvalidDefinitionError(
                f"{Path(folder) / 'defs.yaml'}: project_root: {project.root} is not a VSO project (it has no "
                "master-spec.md or .slice-orchestrator/); give the path of one, or run `vso init` there")
        return project
