import dagster as dg

# One partition per slice ID (`slice-001-auth`). Keys are only ever added: a retired slice keeps its
# partition so its history stays browsable in the UI.
slices_partitions = dg.DynamicPartitionsDefinition(name="slices")


def ensure_slice_partitions(instance: dg.DagsterInstance, slice_ids: list[str]) -> None:
    """Adds what slice_plan would have added, for an instance that never saw this plan (a new DAGSTER_HOME)."""
    known = set(instance.get_dynamic_partitions(slices_partitions.name))
    if missing := [sid for sid in slice_ids if sid not in known]:
        instance.add_dynamic_partitions(slices_partitions.name, missing)
