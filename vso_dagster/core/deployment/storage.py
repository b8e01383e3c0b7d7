"""Slices that own data keep it. A slice whose component owns data models gets a database in each
environment, whose location its service or job reads from VSO_DATABASE_URL (sqlite:///PATH): on
this machine a SQLite file under .slice-orchestrator/data/<slice>/ (where jobs always run); on
Hetzner a volume the module attaches (terraform/); on Modal a Modal volume (modal/app.py). It
outlives every redeploy. `vso destroy` leaves the local file and the Modal volume in place (stopping
a service is not deleting what it kept); on Hetzner, `terraform destroy` deletes the volume with the
server.
"""

from __future__ import annotations

from ..base.plan import load_plan
from ..base.project import Project

DATABASE_VARIABLE = "VSO_DATABASE_URL"
MEMO_VARIABLE = "VSO_DATA_MEMO"


def local_database(project: Project, slice_id: str, environment: str) -> dict[str, str]:
    """{VSO_DATABASE_URL: sqlite:///PATH} for a slice that owns data models, run on this machine;
    empty for one that owns none."""
    if not _owns_data(project, slice_id):
        return {}
    path = project.make_data_dir(slice_id) / f"{environment}.sqlite3"
    return {DATABASE_VARIABLE: f"sqlite:///{path}"}


def data_memo(project: Project, slice_id: str, environment: str) -> dict[str, str]:
    """{VSO_DATA_MEMO: PATH} for the integration tests of a slice that owns data models: where they note
    a record each run creates, for the next run (against a redeploy) to read back."""
    if not _owns_data(project, slice_id):
        return {}
    return {MEMO_VARIABLE: str(project.make_data_dir(slice_id) / f"{environment}-memo.json")}


def forget_memo(project: Project, slice_id: str, environment: str) -> None:
    """After a destroy the next deployment may start empty (on Hetzner its volume went with it): earlier
    notes no longer say what must be there."""
    (project.data_dir / slice_id / f"{environment}-memo.json").unlink(missing_ok=True)


def _owns_data(project: Project, slice_id: str) -> bool:
    return load_plan(project).slice(slice_id).owns_data
