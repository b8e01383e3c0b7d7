import hashlib

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from ..core.base.config import load_config
from ..core.base.errors import VSOError
from ..core.base.master_spec import read_project_spec
from ..core.base.model import MasterSpec
from ..core.base.plan import Plan, load_plan
from ..core.base.project import Project
from ..core.base.state import conflicts_of, load_state
from ..core.decomposition.decompose import SliceWrite, plan_is_current, plan_project, write_slices
from ..core.decomposition.refine import agent_refiner
from ..lib.naming import Naming
from ..lib.partitions import add_partition_metadata, ensure_slice_partitions
from ..lib.resources import VSOProject

GROUP = "decomposition"


class PlanConfig(dg.Config):
    strict: bool = False
    """Refuse endpoints, data models and requirements that no component owns, instead of listing them."""


def _user_error(error: VSOError) -> dg.Failure:
    """A spec mistake shows in the UI as `file:line: message`, not as a Python traceback."""
    return dg.Failure(description=str(error), allow_retries=False)


SLICE_INPUTS = "slice_inputs"
IN_SYNC = "spec_in_sync"


def build(names: Naming) -> tuple[list, list]:
    """The decomposition's assets and its check, named for one project."""
    uses = {names.resource}  # the project's VSOProject, asked for by its key

    @dg.asset(key=names.key("master_spec"), group_name=GROUP, kinds={"markdown"}, required_resource_keys=uses)
    def master_spec(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """The master spec, parsed. Its data version hashes the spec without its generated
        "Vertical Slices" section, so regenerating that section never makes the slices stale."""
        spec, project = _read_spec(names.project_resource(context))
        return dg.MaterializeResult(
            data_version=dg.DataVersion(spec.content_hash),
            metadata={
                "title": spec.title,
                "version": spec.version,
                "path": dg.MetadataValue.path(str(project.master_spec)),
                "components": len(spec.components),
                "endpoints": len(spec.endpoints),
                "data_models": len(spec.data_models),
                "requirements": len(spec.functional) + len(spec.non_functional),
            },
        )

    @dg.asset(key=names.key("slice_plan"), group_name=GROUP, kinds={"networkx"}, deps=[master_spec],
              required_resource_keys=uses)
    def slice_plan(context: dg.AssetExecutionContext, config: PlanConfig) -> dg.MaterializeResult:
        """Slices in dependency order with stable IDs; new IDs become `slices` partitions (none are removed).
        Each slice whose inputs changed gets a new data version of its `slice_inputs` partition."""
        vso = names.project_resource(context)
        spec, project = _read_spec(vso)
        with vso.log_to("decomposition"):
            before = _input_hashes(project)
            try:
                plan = plan_project(project, spec, strict=config.strict)
            except VSOError as error:
                raise _user_error(error) from None
        new_keys = ensure_slice_partitions(context.instance, names.slices, [s.slice_id for s in plan.slices])
        changed = [s for s in plan.slices if before.get(s.slice_id, s.input_hash) != s.input_hash]
        for s in changed:
            context.log_event(dg.AssetObservation(asset_key=names.key(SLICE_INPUTS), partition=s.slice_id,
                                                  tags={DATA_VERSION_TAG: s.input_hash},
                                                  metadata={"component": s.name, "input_hash": s.input_hash}))
        unassigned = "\n".join(f"| {u.kind} | {u.label} | {u.line} | {u.reason} |" for u in plan.unassigned)
        return dg.MaterializeResult(
            data_version=dg.DataVersion(hashlib.sha256(plan.to_json().encode()).hexdigest()),
            metadata={
                "slices": len(plan.slices),
                "new_partitions": len(new_keys),
                "inputs_changed": dg.MetadataValue.json([s.slice_id for s in changed]),
                "retired": dg.MetadataValue.json(plan.retired),
                "order": dg.MetadataValue.json([s.slice_id for s in plan.slices[:200]]),
                "dependencies": dg.MetadataValue.md(_dependency_table(plan)),
                "unassigned": dg.MetadataValue.md(
                    f"| kind | item | line | why |\n|---|---|---|---|\n{unassigned}" if unassigned else "none"
                ),
                "plan": dg.MetadataValue.path(str(project.plan_file)),
            },
        )

    # Each slice's part of the plan: what its files are generated from. An observation, not a
    # materialization: slice_plan records a new data version only for the slices whose inputs changed, so
    # Dagster's staleness agrees with VSO's: after one component changes, exactly its slice_spec is
    # stale, and every other slice stays fresh (a partitioned asset right below the unpartitioned plan
    # would go stale in every partition whenever the plan changed at all).
    slice_inputs = dg.AssetSpec(
        names.key(SLICE_INPUTS), deps=[slice_plan], partitions_def=names.slices, group_name=GROUP, kinds={"json"},
        description="A slice's part of the plan (its component, endpoints, models, requirements, dependencies, "
                    "platform and VSO's generator), by content hash: its data version changes only when that slice's "
                    "generated files would.",
    )

    in_sync_key = names.check("slice_spec", IN_SYNC)

    @dg.asset(
        key=names.key("slice_spec"),
        group_name=GROUP,
        kinds={"markdown", "python", "terraform"},
        partitions_def=names.slices,
        deps=[slice_inputs],
        required_resource_keys=uses,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def slice_spec(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """`vertical-slices/<id>/`: spec.md, tests, service skeleton, Terraform, Modal app, metadata.json.
        One run writes many partitions; a file whose content is unchanged is not rewritten, and a file
        edited after VSO wrote it gets the master's change by three-way merge, or, when the two overlap,
        stays untouched with the merge proposal beside it and a conflict in state.json (spec_in_sync)."""
        keys, vso = context.partition_keys, names.project_resource(context)
        with vso.log_to("decomposition") as project:
            conflicted = {c["slice_id"] for c in conflicts_of(load_state(project), keys)}
            try:
                spec = read_project_spec(project)
                if not plan_is_current(project, spec):
                    # A run the git sensor or the nightly schedule started may come before its plan run.
                    plan_project(project, spec)
                plan = load_plan(project)
                results = write_slices(project, plan, keys, refine=agent_refiner(project, load_config(project)))
            except VSOError as error:
                raise _user_error(error) from None
        written = sum(len(r.written) for r in results)
        skipped = sorted(set(keys) - {r.slice_id for r in results})
        context.log.info(f"{len(results)} slices: {written} files written, "
                         f"{sum(len(r.merged) for r in results)} edits merged with the master's change, "
                         f"{sum(len(r.conflicts) for r in results)} in conflict"
                         + (f"; not in the current plan (retired): {', '.join(skipped)}" if skipped else ""))
        # Each partition's materialization describes its own slice, though one run wrote many.
        state = load_state(project)
        add_partition_metadata(context, {
            **{r.slice_id: _slice_metadata(project, plan, state["slices"][r.slice_id], r) for r in results},
            **dict.fromkeys(skipped, {"retired": True}),
        })
        if in_sync_key not in context.selected_asset_check_keys:
            # A check in a run of many partitions records one evaluation with no partition (dagster 1.13),
            # so the range job leaves spec_in_sync out, and the asset records it per slice instead: for
            # each slice in conflict now or before this run (the others have nothing to say).
            conflicted |= {c["slice_id"] for c in conflicts_of(state, keys)}
            for slice_id in sorted(conflicted):
                context.log_event(dg.AssetCheckEvaluation(asset_key=in_sync_key.asset_key, check_name=IN_SYNC,
                                                          partition=slice_id, **_in_sync(state, {slice_id})))
        return dg.MaterializeResult()

    @dg.asset_check(asset=slice_spec, name=IN_SYNC, partitions_def=names.slices, required_resource_keys=uses,
                    description="No unresolved conflict between the master's change and an edit made in the slice.")
    def spec_in_sync(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """Fails while a slice has a conflict (`vso status`, `vso resolve`). slice_implementation refuses
        such a slice too, so nothing downstream of it runs until the conflict is resolved."""
        state = load_state(names.project_resource(context).project())
        return dg.AssetCheckResult(**_in_sync(state, set(context.partition_keys)))

    return [master_spec, slice_plan, slice_inputs, slice_spec], [spec_in_sync]


def _read_spec(vso: VSOProject) -> tuple[MasterSpec, Project]:
    """The spec as the file says now. Each asset reads it (a parse is cached per content), so no
    value passes between runs through an IO manager's files."""
    with vso.log_to("decomposition") as project:
        try:
            return read_project_spec(project), project
        except VSOError as error:
            raise _user_error(error) from None


# The UI renders a Markdown table (Mermaid it shows as raw text); past this many slices, it counts the rest.
TABLE_ROWS = 500


def _dependency_table(plan: Plan) -> str:
    """Slice -> the slices it depends on, in build order: the slice graph as the UI can show it."""
    rows = [f"| {s.slice_id} | {s.name} | {', '.join(s.dependencies) or '-'} | {s.platform} |"
            for s in plan.slices[:TABLE_ROWS]]
    more = [f"| … and {len(plan.slices) - TABLE_ROWS} more | | | |"] if len(plan.slices) > TABLE_ROWS else []
    return "\n".join(["| slice | component | depends on | platform |", "|---|---|---|---|", *rows, *more])


def _input_hashes(project: Project) -> dict[str, str]:
    """The input hash of each slice in the plan before this one (none before the first)."""
    try:
        return {s.slice_id: s.input_hash for s in load_plan(project).slices}
    except VSOError:
        return {}


def _slice_metadata(project: Project, plan: Plan, entry: dict, result: SliceWrite) -> dict:
    planned = plan.slice(result.slice_id)
    return {
        "component": planned.name,
        "version": entry.get("version", ""),
        "platform": planned.platform,
        "depends_on": dg.MetadataValue.json(planned.dependencies),
        "files_written": len(result.written),
        "merged": dg.MetadataValue.json(result.merged),
        "conflicts": dg.MetadataValue.json(result.conflicts),
        "removed": dg.MetadataValue.json(result.removed),
        "path": dg.MetadataValue.path(str(project.slice_dir(result.slice_id))),
    }


def _in_sync(state: dict, slice_ids: set[str]) -> dict:
    """spec_in_sync's verdict on these slices: passed, description and metadata."""
    open_conflicts = conflicts_of(state, slice_ids)
    slices = sorted({c["slice_id"] for c in open_conflicts})
    return {
        "passed": not open_conflicts,
        "description": (f"unresolved conflicts in {', '.join(slices)}: `vso resolve SLICE --take "
                        "master|slice|merged`" if open_conflicts else "in sync with the master spec"),
        "metadata": {"conflicts": dg.MetadataValue.json([{k: c.get(k) for k in ("path", "proposal", "detected_at")}
                                                        for c in open_conflicts])},
    }
