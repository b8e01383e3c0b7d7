"""Bulk work on many small objects: parsing the master spec, planning, decoding state.json.

Such work allocates tens of thousands of containers and no reference cycles, yet each allocation
burst triggers CPython's cyclic collector, whose full passes walk every live object: in a Dagster
run process that is all of Dagster too. Pausing the collector around the work measured 15-20% of an
incremental decomposition of 1,000 components (bench/sync.py); nothing it would free is lost, only
collected after the work.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
