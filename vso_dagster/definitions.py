"""Assembles VSO's Dagster definitions; each concern lives in its own folder."""

import dagster as dg

from . import decomposition
from .lib.resources import VSOProject

defs = dg.Definitions(
    assets=[*decomposition.assets],
    jobs=[*decomposition.jobs],
    resources={
        "vso": VSOProject(),
        # Explicit, so in-process runs (`vso decompose`) persist outputs for later CLI/UI runs too.
        "io_manager": dg.FilesystemIOManager(),
    },
)
