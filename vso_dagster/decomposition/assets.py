import hashlib

import dagster as dg

from ..core.base.config import load_config
from ..core.base.errors import VSOError
from ..core.base.master_spec import read_project_spec
from ..core.base.model import MasterSpec
from ..core.base.plan import load_plan
from ..core.base.state import conflicts_of, load_state
from ..core.decomposition.decompose import plan_is_current, plan_project, write_slices
from ..core.decomposition.refine import agent_refiner
from ..lib.partitions import ensure_slice_partitions, slices_partitions
from ..lib.resources import VSOProject

GROUP = "decomposition"


class PlanConfig(dg.Config):
    strict: bool = False
    """Refuse endpoints, data models and requirements that no component owns, instead of listing them."""


def _user_error(error: VSOError) -> dg.Failure:
    """A spec mistake shows in the UI as `file:line: message`, not as a Python traceback."""
    return dg.Failure(description=str(error), allow_retries=False)


@dg.asset(group_name=GROUP, kinds={"markdown"})
def master_spec(context: dg.AssetExecutionContext, vso: VSOProject) -> dg.Output[MasterSpec]:
    """The master spec, parsed. Its data version hashes the spec without its generated
    "Vertical Slices" section, so regenerating that section never makes the slices stale."""
    with vso.log_to("decomposition") as project:
        try:
            spec = read_project_spec(project)
        except VSOError as error:
            raise _user_error(error) from None
    return dg.Output(
        spec,
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


@dg.asset(group_name=GROUP, kinds={"networkx"})
def slice_plan(context: dg.AssetExecutionContext, config: PlanConfig, vso: VSOProject,
               master_spec: MasterSpec) -> dg.MaterializeResult:
    """Slices in dependency order with stable IDs; new IDs become `slices` partitions (none are removed)."""
    with vso.log_to("decomposition") as project:
        try:
            plan = plan_project(project, master_spec, strict=config.strict)
        except VSOError as error:
            raise _user_error(error) from None
    known = set(context.instance.get_dynamic_partitions(slices_partitions.name))
    new_keys = [s.slice_id for s in plan.slices if s.slice_id not in known]
    ensure_slice_partitions(context.instance, new_keys)
    unassigned = "\n".join(f"| {u.kind} | {u.label} | {u.line} | {u.reason} |" for u in plan.unassigned)
    return dg.MaterializeResult(
        data_version=dg.DataVersion(hashlib.sha256(plan.to_json().encode()).hexdigest()),
        metadata={
            "slices": len(plan.slices),
            "new_partitions": len(new_keys),
            "retired": dg.MetadataValue.json(plan.retired),
            "order": dg.MetadataValue.json([s.slice_id for s in plan.slices[:200]]),
            "dependency_graph": dg.MetadataValue.md(f"```mermaid\n{plan.mermaid()}\n```"),
            "unassigned": dg.MetadataValue.md(
                f"| kind | item | line | why |\n|---|---|---|---|\n{unassigned}" if unassigned else "none"
            ),
            "plan": dg.MetadataValue.path(str(project.plan_file)),
        },
    )


@dg.asset(
    group_name=GROUP,
    kinds={"markdown", "python", "terraform"},
    partitions_def=slices_partitions,
    deps=[slice_plan],
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def slice_spec(context: dg.AssetExecutionContext, vso: VSOProject) -> dg.MaterializeResult:
    """`vertical-slices/<id>/`: spec.md, tests, service skeleton, Terraform, Modal app, metadata.json.
    One run writes many partitions; a file whose content is unchanged is not rewritten, and a file
    edited after VSO wrote it gets the master's change by three-way merge, or, when the two overlap,
    stays untouched with the merge proposal beside it and a conflict in state.json (spec_in_sync)."""
    keys = context.partition_keys
    with vso.log_to("decomposition") as project:
        try:
            spec = read_project_spec(project)
            if not plan_is_current(project, spec):
                # A run the git sensor or the nightly schedule started may come before its plan run.
                plan_project(project, spec)
            results = write_slices(project, load_plan(project), keys,
                                   refine=agent_refiner(project, load_config(project)))
        except VSOError as error:
            raise _user_error(error) from None
    written = sum(len(r.written) for r in results)
    merged = [f"{r.slice_id}/{path}" for r in results for path in r.merged]
    kept = [f"{r.slice_id}/{path}" for r in results for path in r.conflicts]
    skipped = sorted(set(keys) - {r.slice_id for r in results})
    context.log.info(f"{len(results)} slices: {written} files written, {len(merged)} edits merged with the "
                     f"master's change, {len(kept)} in conflict"
                     + (f"; not in the current plan (retired): {', '.join(skipped)}" if skipped else ""))
    metadata: dict = {"slices": len(results), "files_written": written, "merged": dg.MetadataValue.json(merged),
                      "conflicts": dg.MetadataValue.json(kept), "skipped_retired": dg.MetadataValue.json(skipped)}
    if len(keys) == 1:
        metadata["path"] = dg.MetadataValue.path(str(project.slices_dir / keys[0]))
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(asset=slice_spec, partitions_def=slices_partitions,
                description="No unresolved conflict between the master's change and an edit made in the slice.")
def spec_in_sync(context: dg.AssetCheckExecutionContext, vso: VSOProject) -> dg.AssetCheckResult:
    """Fails while a slice has a conflict (`vso status`, `vso resolve`). slice_implementation refuses
    such a slice too, so nothing downstream of it runs until the conflict is resolved."""
    keys = set(context.partition_keys)
    open_conflicts = conflicts_of(load_state(vso.project()), keys)
    slices = sorted({c["slice_id"] for c in open_conflicts})
    return dg.AssetCheckResult(
        passed=not open_conflicts,
        description=(f"unresolved conflicts in {', '.join(slices)}: `vso resolve SLICE --take master|slice|merged`"
                     if open_conflicts else "in sync with the master spec"),
        metadata={"conflicts": dg.MetadataValue.json([{k: c.get(k) for k in ("path", "proposal", "detected_at")}
                                                     for c in open_conflicts])},
    )
