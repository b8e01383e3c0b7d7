"""The launch layer: the one way work starts. The CLI and the benchmarks call these functions; each
launches the jobs of `definitions.py` in process (a run in the project's Dagster instance, shown in
the UI like any other) and returns what happened. It sits above `definitions.py`, so no stage room
imports the definitions, or another stage room, to start a job."""
