"""A snapshot of the whole asset graph: an accidental change to keys, lineage, partitions or
policies fails here. Refresh on purpose with VSO_UPDATE_SNAPSHOTS=1 and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from vso_dagster.assembly import assemble
from vso_dagster.definitions import defs
from vso_dagster.lib.naming import Naming
from vso_dagster.lib.resources import VSOProject

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_snapshot(definitions: dg.Definitions = defs) -> dict:
    repo = definitions.get_repository_def()
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
            "pools": sorted(node.pools or ()),
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


def under_prefix(snapshot: dict, prefix: str) -> dict:
    """The snapshot as a project with this key prefix should have it: every name VSO gives, prefixed."""
    def key(name: str) -> str:
        return f"{prefix}/{name}"

    def name(plain: str) -> str:
        return f"{prefix}_{plain}"

    return {
        "assets": {key(k): {**a, "deps": [key(d) for d in a["deps"]],
                            "partitions_name": a["partitions_name"] and name(a["partitions_name"])}
                   for k, a in snapshot["assets"].items()},
        "checks": {key(k): {**c, "partitions": c["partitions"] and name(c["partitions"])}
                   for k, c in snapshot["checks"].items()},
        "jobs": [name(j) for j in snapshot["jobs"]],
        "resources": [name(r) for r in snapshot["resources"]],
        "sensors": {name(n): {**s, "jobs": [name(j) for j in s["jobs"]]} for n, s in snapshot["sensors"].items()},
        "schedules": {name(n): {**s, "job": name(s["job"])} for n, s in snapshot["schedules"].items()},
    }


def test_a_prefixed_project_has_the_same_graph_with_every_name_under_its_prefix():
    """What the Component builds: a name some room spells out instead of taking from its Naming shows
    here (a dependency on a plain key would dangle, a job would keep its plain name)."""
    prefixed = assemble(Naming("billing"), VSOProject(root="."), timezone="UTC")
    # Building a repository reads the current instance's definitions state: a test instance of its
    # own, not whatever instance a `vso` command run earlier in this process left current.
    with dg.instance_for_test():
        assert graph_snapshot(prefixed) == under_prefix(graph_snapshot(), "billing")
