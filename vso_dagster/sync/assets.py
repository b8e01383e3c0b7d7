import dagster as dg

from ..core.base.errors import VSOError
from ..core.sync.master_sync import sync_master
from ..lib.naming import Naming


def build(names: Naming) -> list:
    # Its upstream is another room's asset, named by its key: the rooms do not import one another.
    @dg.asset(key=names.key("master_sync"), group_name="sync", kinds={"markdown"}, deps=[names.key("slice_spec")],
              required_resource_keys={names.resource})
    def master_sync(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """Slices -> master: `## Vertical Slices` regenerated (table and Mermaid graph), and endpoints and
        criteria a slice added to its spec.md added to the master under their component (minor version
        bump). The master's data version ignores that section, so this starts no decomposition."""
        with names.project_resource(context).log_to("decomposition", context) as project:
            try:
                synced = sync_master(project)
            except VSOError as error:
                raise dg.Failure(description=str(error), allow_retries=False) from None
        if synced.endpoints or synced.criteria:
            context.log.info(f"master-spec.md v{synced.version}: added {len(synced.endpoints)} endpoints and "
                             f"{len(synced.criteria)} criteria from the slices")
        return dg.MaterializeResult(metadata={
            "written": synced.written,
            "endpoints_added": dg.MetadataValue.json(synced.endpoints),
            "criteria_added": dg.MetadataValue.json(synced.criteria),
            "master_version": synced.version or "",
            "path": dg.MetadataValue.path(str(project.master_spec)),
        })

    return [master_sync]
