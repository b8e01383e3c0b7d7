"""Slices -> master and back: what changed since the last run, what slices add to the master, the
git hooks, and settling conflicts."""
