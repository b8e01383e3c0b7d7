import dagster as dg

# One partition per slice ID (`slice-001-auth`). Keys are only ever added: a retired slice keeps its
# partition so its history stays browsable in the UI.
slices_partitions = dg.DynamicPartitionsDefinition(name="slices")
