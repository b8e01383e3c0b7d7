"""The pure core: no Dagster import anywhere below this package, so it is tested in milliseconds."""
