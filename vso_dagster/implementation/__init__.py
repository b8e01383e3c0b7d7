"""slice_spec -> slice_implementation: each slice built on its own branch, gated by its unit tests."""

from .assets import slice_implementation, unit_tests
from .jobs import implement_job, unit_tests_job
from .sensors import implementation_waves

assets = [slice_implementation]
asset_checks = [unit_tests]
jobs = [implement_job, unit_tests_job]
sensors = [implementation_waves]
