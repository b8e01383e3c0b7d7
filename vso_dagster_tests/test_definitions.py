"""A snapshot of the whole asset graph: an accidental change to keys, lineage, partitions or
policies fails here. Refresh on purpose with VSO_UPDATE_SNAPSHOTS=1 and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vso_dagster.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_snapshot() -> dict:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "group": node.group_name,
            "partitions": type(node.partitions_def).__name__ if node.partitions_def else None,
            "partitions_name": getattr(node.partitions_def, "name", None),
            "backfill_policy": str(node.backfill_policy.policy_type.value) if node.backfill_policy else None,
            "kinds": sorted(node.kinds),
        }
    checks = {}
    for key in sorted(graph.asset_check_keys, key=lambda k: k.to_user_string()):
        spec = graph.get_check_spec(key)
        checks[key.to_user_string()] = {"blocking": spec.blocking,
                                         "partitions": getattr(spec.partitions_def, "name", None)}
    return {
        "assets": assets,
        "checks": checks,
        "jobs": sorted(job.name for job in repo.get_all_jobs() if not job.name.startswith("__")),
        "resources": sorted(repo.get_top_level_resources()),
        "sensors": {s.name: {"jobs": sorted(t.job_name for t in s.targets), "default_status": s.default_status.value}
                    for s in repo.sensor_defs},
        "schedules": {s.name: {"job": s.job_name, "cron": s.cron_schedule, "default_status": s.default_status.value}
                      for s in repo.schedule_defs},
    }


def test_asset_graph_matches_snapshot():
    current = graph_snapshot()
    if os.environ.get("VSO_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_slice_assets_share_the_slices_partitions():
    graph = defs.get_repository_def().asset_graph
    partitioned = [k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def]
    assert sorted(partitioned) == ["integration_tests", "production_deployment", "slice_implementation",
                                   "slice_inputs", "slice_spec", "test_deployment"]
    assert graph.get(next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "slice_spec")
                     ).partitions_def.name == "slices"
