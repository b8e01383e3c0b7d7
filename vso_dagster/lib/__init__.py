"""Pieces the Dagster concern folders share: the slice partitions, the project resource, logging."""
