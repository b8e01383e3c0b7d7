import dagster as dg

from ..core.base.budget import Budget
from ..core.base.config import load_config
from ..core.base.errors import Blocked, VSOError
from ..core.base.plan import load_plan
from ..core.base.remote_checkout import share_slice_branch
from ..core.base.unit_tests import TestRun
from ..core.base.worktrees import Worktree, existing_worktree, head, uncommitted
from ..core.implementation.implement import implement_slice, record_tests
from ..core.implementation.implement import unit_tests as run_unit_tests
from ..core.implementation.team_run import TeamRun
from ..lib.naming import Naming
from ..lib.run_records import slice_run_project, state_record

GROUP = "implementation"
# The budget of the `vso orchestrate` a run is part of, with what the orchestrate spent before it
# (core/base/budget.py). On the run, so the UI shows it; a run launched from the UI has none, and
# only its slice's own budget holds it.
BUDGET_TAG = "vso/run_budget"
# Paid agent teams run in this Dagster concurrency pool: `dagster instance concurrency set` bounds
# how many run at once on the instance, across every way of launching them.
AGENT_POOL = "vso_agent_teams"
# The unit tests an implementation ran, by run and slice, with the commit they ran on. Its blocking
# check, in the same run, takes them instead of running the same tests on the same commit again (half
# of an implement run's time). Held in this process only: the in-process runs VSO starts itself.
# Where the check runs in a process of its own, or the worktree moved on, it runs the tests.
_TESTED: dict[tuple[str, str], tuple[str, TestRun]] = {}


def _test_metadata(tests: TestRun) -> dict:
    return {
        "passed": tests.passed,
        "failed": tests.failed,
        "errors": tests.errors,
        "skipped": tests.skipped,
        "duration_s": round(tests.duration_s, 2),
        "failing": dg.MetadataValue.json(tests.failing),
        "environment": tests.environment[:12],  # the slice environment's digest (its requirements)
        **({"coverage_percent": tests.coverage} if tests.coverage is not None else {}),
        **({"min_coverage_percent": tests.min_coverage} if tests.min_coverage else {}),
    }


def _team_metadata(team: TeamRun | None) -> dict:
    """What the team spent, as far as its agents reported it (token counts only when they did)."""
    if team is None:
        return {}
    spent = team.usage
    reported = {"agent_tokens_in": spent.tokens_in, "agent_tokens_out": spent.tokens_out} if spent.reports else {}
    if spent.cost_usd is not None:
        reported["agent_cost_usd"] = round(spent.cost_usd, 4)
    if spent.turns is not None:
        reported["agent_turns"] = spent.turns
    return {**reported, "agent_restarts": team.restarts, "agent_minutes": round(team.seconds / 60, 2),
            "team_type": team.crew.type, "team_roles": dg.MetadataValue.json(list(team.crew.roles))}


def build(names: Naming) -> tuple[list, list]:
    """The implementation asset and its unit-test check, named for one project."""
    uses = {names.resource}  # the project's VSOProject, asked for by its key

    # Its upstream is another room's asset, named by its key: the rooms do not import one another.
    @dg.asset(key=names.key("slice_implementation"), group_name=GROUP, kinds={"git", "python"},
              partitions_def=names.slices, deps=[names.key("slice_spec")], required_resource_keys=uses,
              pool=AGENT_POOL)
    def slice_implementation(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """The slice built by an agent on branch `slice-NNN-name-vX.Y.Z` in its own worktree; done only
        when its unit tests pass. A slice whose dependencies are not built fails fast: `blocked by: ...`."""
        slice_id, vso = context.partition_key, names.project_resource(context)
        with vso.log_to("implementation") as project:
            try:
                slice_run_project(context, names)
                plan = load_plan(project)
                done = implement_slice(project, plan, slice_id, Budget.from_tag(context.run.tags.get(BUDGET_TAG)))
                if done.tests.green and (config := load_config(project)).runs_in_clones:
                    share_slice_branch(project, config, done.worktree)
            except VSOError as error:
                blocked = {"blocked_by": dg.MetadataValue.json(error.waiting)} if isinstance(error, Blocked) else {}
                raise dg.Failure(description=str(error), allow_retries=False, metadata=blocked) from None
        for event in done.team.events if done.team else ():
            context.log.info(f"team: {event}")
        metadata = {
            "agent": done.agent,
            "depends_on": dg.MetadataValue.json(plan.slice(slice_id).dependencies),
            "branch": done.worktree.branch,
            "head": done.head,
            "worktree": dg.MetadataValue.path(str(done.worktree.path)),
            "diff_files": done.diff["files"],
            "diff_insertions": done.diff["insertions"],
            "diff_deletions": done.diff["deletions"],
            "unit_tests": done.tests.summary(),
            **_team_metadata(done.team),
            **state_record(project, slice_id),
        }
        if not done.tests.green:
            raise dg.Failure(description=f"{slice_id}: unit tests are red: {done.tests.verdict()}",
                             metadata={**metadata, **_test_metadata(done.tests)}, allow_retries=False)
        _TESTED[(context.run.run_id, slice_id)] = (done.head, done.tests)
        return dg.MaterializeResult(metadata=metadata)

    @dg.asset_check(asset=slice_implementation, partitions_def=names.slices, blocking=True, required_resource_keys=uses)
    def unit_tests(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """The slice's unit tests, run with pytest in its worktree. Blocking: nothing downstream of a red
        slice runs, and other slices are not affected."""
        try:
            project = slice_run_project(context, names)
        except VSOError as error:
            return dg.AssetCheckResult(passed=False, description=str(error))
        worktree = existing_worktree(project, context.partition_key)
        if worktree is None:
            return dg.AssetCheckResult(passed=False, description="not implemented yet: no worktree for this slice")
        try:
            tests = _tested_here(context.run.run_id, worktree) or run_unit_tests(project, worktree)
        except VSOError as error:  # the slice's environment could not be built: its tests could not run
            return dg.AssetCheckResult(passed=False, description=str(error))
        tested = record_tests(project, worktree, tests)  # green on a committed head: the commit a deploy ships
        return dg.AssetCheckResult(passed=tests.green, metadata={**_test_metadata(tests), "commit": tested or ""},
                                   description=tests.verdict())

    return [slice_implementation], [unit_tests]


def _tested_here(run_id: str, worktree: Worktree) -> TestRun | None:
    """The tests this run's implementation ran, if the worktree is still at that commit, unchanged."""
    head_tested, tests = _TESTED.pop((run_id, worktree.slice_id), ("", None))
    return tests if head_tested == head(worktree) and not uncommitted(worktree) else None
