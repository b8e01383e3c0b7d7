"""VSO's code location in its own checkout: one project ($VSO_PROJECT_ROOT, else the working
directory) under the plain names. A Dagster project that adds VSO uses component.py instead."""

import dagster as dg

from .assembly import assemble
from .lib.naming import Naming
from .lib.presentation import loading_config
from .lib.resources import VSOProject

naming = Naming()
config = loading_config()
defs = dg.Definitions.merge(
    assemble(naming, VSOProject(), timezone=config.nightly_timezone, health_interval_s=config.health.interval_s,
             alerts_interval_s=config.alerts.interval_s, owners=config.owners, group=config.group),
    # `dagster asset materialize` runs Dagster's own asset job: in process too, like VSO's jobs.
    dg.Definitions(executor=dg.in_process_executor),
)
