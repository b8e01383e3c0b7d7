"""slice_spec -> slice_implementation: each slice built on its own branch, gated by its unit tests."""

from .assets import slice_implementation, unit_tests

assets = [slice_implementation]
asset_checks = [unit_tests]
