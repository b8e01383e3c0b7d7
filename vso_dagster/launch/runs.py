"""Every run VSO starts is a run of the code location `vso`.

It is created with the job origin the webserver and the daemon know the location by, so the UI lists
it under its job and on the timeline, and can re-execute it. Where it executes is the instance's
choice: with Dagster's default run launcher it executes here, in this process (no daemon, no second
start-up of the definitions); with any other launcher (a container, a cluster) it is submitted
through the instance's run coordinator and this process waits for it. `[dagster] launch` in
config.toml can force either way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cache

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.execution.api import create_execution_plan, execute_run
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.storage.dagster_run import FINISHED_STATUSES
from dagster._core.workspace.load import location_origin_from_module_name

from ..core.base.config import load_config
from ..core.base.process_group import process_identity
from ..core.base.project import Project
from ..lib.code_location import DEFINITIONS_MODULE, LOCATION_NAME, REPOSITORY_NAME
from ..lib.in_process import PROCESS_TAG
from ..lib.run_records import RECORDED_ASSETS, catch_up
from .jobs import naming, resolved

log = logging.getLogger("vso.launch")
IN_PROCESS, SUBMIT = "in_process", "submit"
# How often a submitted run's status is read, and how long a queued run may wait before the command
# says that no daemon seems to be dequeuing it.
POLL_S = 0.5
# On every run a `vso` command starts, wherever it executes: `vso queue` says who started a run.
STARTED_BY_VSO = {"vso/started_by": "vso"}
QUEUED_WARNING_S = 30.0


@dataclass(frozen=True)
class FinishedRun:
    """A run that ended, read the same way whether it executed here or elsewhere: its events."""

    run_id: str
    success: bool
    all_events: Sequence[dg.DagsterEvent] = field(repr=False)

    def get_asset_materialization_events(self) -> list[dg.DagsterEvent]:
        return [e for e in self.all_events if e.is_step_materialization]

    def get_asset_observation_events(self) -> list[dg.DagsterEvent]:
        return [e for e in self.all_events if e.is_asset_observation]

    def get_asset_check_evaluations(self) -> list:
        return [e.event_specific_data for e in self.all_events
                if e.event_type_value == dg.DagsterEventType.ASSET_CHECK_EVALUATION.value]

    def materializations(self) -> dict[str, Mapping[str, dg.MetadataValue]]:
        """The metadata of each asset materialized, by asset name (the last, if it materialized twice)."""
        return {e.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
                for e in self.get_asset_materialization_events()}


@dataclass
class RunStarter:
    """Starts VSO's runs on one instance, for one project (its root is the code location's working
    directory, as in the workspace `vso ui` serves)."""

    instance: dg.DagsterInstance
    working_directory: str
    mode: str = IN_PROCESS
    on_wait: Callable[[str], None] | None = None  # told, once, why a submitted run has not started
    # Runs in the machine's own clone (`[dagster] checkout = "git"`): those that write the project's
    # files (decomposition, sync) execute here, in this clone, wherever the others go; after each run,
    # this machine's state.json takes what runs on other machines recorded.
    clones: bool = False

    @classmethod
    def for_project(cls, project: Project, instance: dg.DagsterInstance) -> RunStarter:
        config = load_config(project)
        return cls(instance, str(project.root), launch_mode(instance, config.launch), on_wait=log.warning,
                   clones=config.runs_in_clones)

    def run(self, job: str | dg.JobDefinition, *, run_config: Mapping | None = None,
            tags: Mapping[str, str] | None = None, partition_key: str | None = None,
            asset_selection: Sequence[dg.AssetKey] | None = None) -> FinishedRun:
        job_def = job if isinstance(job, dg.JobDefinition) else resolved(job)
        run_tags = {**job_def.run_tags, **STARTED_BY_VSO, **(tags or {})}
        if partition_key is not None:
            run_tags["dagster/partition"] = partition_key
        here = self.mode == IN_PROCESS or (self.clones and not _slice_work(job_def))
        if here:
            run_tags[PROCESS_TAG] = process_identity()  # a killed process's run is known as abandoned
        run = self._create(job_def, dict(run_config or {}), run_tags, asset_selection)
        if here:
            result = execute_run(_recon_job(job_def.name, self.working_directory), run, self.instance)
            finished = FinishedRun(run.run_id, result.success, result.all_events)
        else:
            finished = self._submitted(run)
        if self.clones:
            catch_up(Project.at(self.working_directory), self.instance, naming)
        return finished

    def _create(self, job_def: dg.JobDefinition, run_config: dict, tags: dict[str, str],
                asset_selection: Sequence[dg.AssetKey] | None) -> dg.DagsterRun:
        recon = _recon_job(job_def.name, self.working_directory)
        selection = frozenset(asset_selection) if asset_selection else None
        if selection:
            job_def = job_def.get_subset(asset_selection=selection)
            recon = recon.get_subset(asset_selection=selection)
        plan = create_execution_plan(recon, run_config=run_config, instance_ref=self.instance.get_ref()
                                     if self.instance.is_persistent else None, tags=tags)
        return self.instance.create_run_for_job(
            job_def, execution_plan=plan, run_config=run_config, tags=tags, asset_selection=selection,
            remote_job_origin=_remote_origin(job_def.name, self.working_directory),
            job_code_origin=recon.get_python_origin())

    def _submitted(self, run: dg.DagsterRun) -> FinishedRun:
        # The queue only records the run (the daemon brings its own workspace); anything else may launch
        # it now, and Dagster's default launcher needs the code location served to do so.
        queued = isinstance(self.instance.run_coordinator, QueuedRunCoordinator)
        with nullcontext() if queued else _workspace(self.instance, self.working_directory) as workspace:
            self.instance.submit_run(run.run_id, workspace)
            waited, told = time.monotonic(), False
            while (current := self.instance.get_run_by_id(run.run_id)).status not in FINISHED_STATUSES:
                if (not told and self.on_wait and current.status == dg.DagsterRunStatus.QUEUED
                        and time.monotonic() - waited > QUEUED_WARNING_S):
                    self.on_wait(f"run {run.run_id[:8]} ({run.job_name}) is still queued: is a Dagster daemon "
                                 "running on this instance? (`vso ui` starts one; so does `dagster-daemon run`)")
                    told = True
                time.sleep(POLL_S)
        events = [entry.dagster_event for entry in self.instance.all_logs(run.run_id) if entry.is_dagster_event]
        return FinishedRun(run.run_id, current.status == dg.DagsterRunStatus.SUCCESS, events)


def launch_mode(instance: dg.DagsterInstance, configured: str) -> str:
    """`auto`: here when the instance would only start a local process for the run anyway, or run
    it in memory (an ephemeral instance, which no other process can reach)."""
    if configured != "auto":
        return configured
    local = (DefaultRunLauncher, SyncInMemoryRunLauncher)
    return IN_PROCESS if not instance.is_persistent or isinstance(instance.run_launcher, local) else SUBMIT


def _slice_work(job: dg.JobDefinition) -> bool:
    """Whether every step of the job builds, tests or deploys a slice (an asset whose events carry
    its record, or a check of one): work any machine's clone can do."""
    return all(node.startswith(RECORDED_ASSETS) for node in job.graph.node_dict)


@cache
def _recon_job(job_name: str, working_directory: str) -> ReconstructableJob:
    repository = ReconstructableRepository.for_module(DEFINITIONS_MODULE, "defs", working_directory)
    return ReconstructableJob(repository, job_name)


def _remote_origin(job_name: str, working_directory: str) -> RemoteJobOrigin:
    """The origin a run launched from the UI of `vso ui` carries: the same location, by name."""
    location = location_origin_from_module_name(DEFINITIONS_MODULE, None, working_directory, LOCATION_NAME)
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, REPOSITORY_NAME), job_name)


@contextmanager
def _workspace(instance: dg.DagsterInstance, working_directory: str) -> Iterator:
    """The code location served by a gRPC server of its own, as the daemon would: what a run
    coordinator or launcher other than the in-process default is handed with the run."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget

    target = ModuleTarget(DEFINITIONS_MODULE, None, working_directory, LOCATION_NAME)
    with WorkspaceProcessContext(instance, target) as context:
        yield context.create_request_context()
