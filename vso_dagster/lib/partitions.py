import dagster as dg


def ensure_slice_partitions(instance: dg.DagsterInstance, slices: dg.DynamicPartitionsDefinition,
                            slice_ids: list[str]) -> None:
    """Adds what slice_plan would have added, for an instance that never saw this plan (a new DAGSTER_HOME)."""
    known = set(instance.get_dynamic_partitions(slices.name))
    if missing := [sid for sid in slice_ids if sid not in known]:
        instance.add_dynamic_partitions(slices.name, missing)


def add_partition_metadata(context: dg.AssetExecutionContext, by_partition: dict[str, dict]) -> None:
    """Each partition's own metadata, in a run that materializes many. Dagster's add_asset_metadata
    reads the run's whole partition range again on every call (1,000 slices: 19 s of a 40 s
    decompose); these keys are checked against the range once, then added in one pass."""
    if unknown := set(by_partition) - set(context.partition_keys):
        raise ValueError(f"metadata for partitions this run does not materialize: {sorted(unknown)[:5]}")
    step = context.get_step_execution_context()
    accumulator = getattr(step, "_metadata_accumulator", None)
    if accumulator is None:  # another Dagster release: the slow, public way
        for key, metadata in by_partition.items():
            context.add_asset_metadata(metadata, partition_key=key)
        return
    for key, metadata in by_partition.items():
        accumulator = accumulator.with_additional_asset_metadata(asset_key=context.asset_key, metadata=metadata,
                                                                 partition_key=key)
    step._metadata_accumulator = accumulator  # noqa: SLF001 - the same write add_asset_metadata makes
