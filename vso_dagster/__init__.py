"""VSO: Vertical Slice Orchestration on Dagster."""

__version__ = "0.1.0"
