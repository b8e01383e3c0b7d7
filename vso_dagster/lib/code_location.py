"""The one name VSO's code location has, wherever it is served: the workspace of `vso ui`, `dg`,
the workspace.yaml of this checkout, and the origin of every run the `vso` command starts. Runs and
sensor states are keyed by it, so a sensor turned on in one UI is on in the others."""

LOCATION_NAME = "vso"
DEFINITIONS_MODULE = "vso_dagster.definitions"
REPOSITORY_NAME = "__repository__"  # what Dagster names the repository of a Definitions object
