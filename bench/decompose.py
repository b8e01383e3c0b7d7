"""Benchmark: decomposition of a synthetic master spec of N components.

    .venv/bin/python bench/decompose.py 1000            # core steps, whole `vso decompose`, Dagster's floor
    .venv/bin/python bench/decompose.py 10000 --core-only
    VSO_POSTGRES_PASSWORD=... .venv/bin/python bench/decompose.py 1000 --postgres-url postgresql://vso@127.0.0.1:5432/postgres

Reports parse, plan, render+write (and its ratio to a bare loop writing the same bytes), the whole
`vso decompose` through Dagster cold and on an unchanged spec, and Dagster's own floor: a single run
over the same number of partitions of an asset that does nothing, each on SQLite in the project or
on PostgreSQL (a new database per measurement), and the cold command's peak memory. Figures go in
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from vso_dagster.core.base.instance_storage import PASSWORD_ENV, PostgresStorage, parse_postgres_url
from vso_dagster.core.base.master_spec import read_project_spec
from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.project import Project
from vso_dagster.core.base.slice_files import slice_files
from vso_dagster.core.decomposition.decompose import plan_project, stale_slice_ids, write_slices
from vso_dagster.core.decomposition.planning import build_plan
from vso_dagster.lib.instance import EVENT_BATCH_ENV, EVENT_BATCH_SIZE, instance_config, instance_config_path

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma", "theta", "lambda", "zeta"]


def synthetic_spec(n: int, seed: int = 7) -> str:
    """N components with up to 3 random earlier dependencies, 2 endpoints and 1 data model each."""
    rng = random.Random(seed)
    names = [f"Comp{i:05d} {rng.choice(WORDS).title()}" for i in range(n)]
    lines = ["---", 'title: "Synthetic"', 'version: "1.0.0"', "---", "", "## Overview", f"{n} components.", "",
             "## Requirements", "### Functional"]
    lines += [f"- {names[i]} keeps its records [{names[i]}]" for i in range(0, n, 10)]
    lines += ["### Non-Functional", "- Performance: p95 < 250ms", "", "## Architecture", "### Components"]
    for i, name in enumerate(names):
        deps = sorted({names[j] for j in rng.sample(range(i), min(i, rng.randint(0, 3)))})
        suffix = f" (depends on: {', '.join(deps)})" if deps else ""
        lines.append(f"- **{name}**: Handles {rng.choice(WORDS)} records{suffix}")
    lines += ["", "### Data Models"]
    lines += [f"- Rec{i:05d}: {{id, name, value, created_at}} [{name}]" for i, name in enumerate(names)]
    lines += ["", "## API Endpoints"]
    for i, name in enumerate(names):
        lines.append(f"- POST /c{i:05d}/items → Create an item [{name}]")
        lines.append(f"- GET /c{i:05d}/items/{{item_id}} → Read an item [{name}]")
    return "\n".join(lines) + "\n"


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def core(n: int, workdir: Path) -> dict:
    project = Project.at(workdir / "core")
    project.root.mkdir(parents=True)
    project.master_spec.write_text(synthetic_spec(n))
    spec, parse_s = timed(lambda: read_project_spec(project))
    _, plan_only_s = timed(lambda: build_plan(spec, {}))
    _, plan_s = timed(lambda: plan_project(project, spec))
    plan = load_plan(project)
    written, write_s = timed(lambda: write_slices(project, plan, stale_slice_ids(project, plan)))
    files = sum(len(r.written) for r in written)

    # The same bytes, written by a bare loop with no templating, hashing or state: the ratio's base.
    payload = [(s.slice_id, rel, text.encode()) for s in plan.slices
               for rel, text in slice_files(plan.master, s, "1.0.0").items()]
    bare_root = workdir / "bare"

    def bare_loop():
        for slice_id, rel, data in payload:
            path = bare_root / slice_id / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    _, bare_s = timed(bare_loop)
    _, rerun_s = timed(lambda: write_slices(project, load_plan(project), stale_slice_ids(project, load_plan(project))))
    return {"n": n, "spec_mb": round(project.master_spec.stat().st_size / 1e6, 2), "files": files,
            "parse_s": parse_s, "plan_s": plan_only_s, "plan_and_record_s": plan_s, "render_write_s": write_s,
            "core_total_s": parse_s + plan_s + write_s, "bare_write_s": bare_s,
            "render_write_vs_bare": write_s / bare_s, "unchanged_rerun_s": rerun_s}


def mtimes(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def whole(n: int, workdir: Path, postgres: PostgresStorage | None) -> dict:
    root = workdir / "whole"
    root.mkdir()
    (root / "master-spec.md").write_text(synthetic_spec(n))
    vso = str(Path(sys.executable).parent / "vso")
    env = {**os.environ, "DAGSTER_HOME": "", "VSO_PROJECT_ROOT": ""}
    if postgres:
        project = Project.at(root)
        project.write(instance_config_path(project), instance_config(project, fresh_database(postgres, "whole")))

    def decompose():
        subprocess.run([vso, "decompose"], cwd=root, env=env, check=True, capture_output=True)

    _, cold_s = timed(decompose)
    # The first child this process waited for: the cold run's own peak.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    before = mtimes(root / "vertical-slices") | {"state": (root / ".slice-orchestrator/state.json").stat().st_mtime_ns}
    _, warm_s = timed(decompose)
    after = mtimes(root / "vertical-slices") | {"state": (root / ".slice-orchestrator/state.json").stat().st_mtime_ns}
    spec = root / "master-spec.md"
    spec.write_text(spec.read_text().replace("Handles", "Handles and archives", 1))  # the first component
    _, one_s = timed(decompose)
    return {"vso_decompose_cold_s": cold_s, "vso_decompose_cold_peak_mb": peak_mb, "vso_decompose_unchanged_s": warm_s,
            "unchanged_run_wrote_files": sum(1 for k in after if before.get(k) != after[k]),
            "vso_decompose_one_component_s": one_s, "one_component_vs_cold": one_s / cold_s}


FLOOR = """
import sys, time, dagster as dg
parts = dg.DynamicPartitionsDefinition(name="slices")

@dg.asset(partitions_def=parts, backfill_policy=dg.BackfillPolicy.single_run())
def nothing(context) -> None:
    return None

n = int(sys.argv[1])
with dg.DagsterInstance.get() as instance:
    keys = [f"slice-{i:05d}-x" for i in range(n)]
    instance.add_dynamic_partitions("slices", keys)
    job = dg.Definitions(assets=[nothing], jobs=[dg.define_asset_job("j", partitions_def=parts)]).resolve_job_def("j")
    started = time.perf_counter()
    job.execute_in_process(instance=instance, tags={"dagster/asset_partition_range_start": keys[0],
                                                    "dagster/asset_partition_range_end": keys[-1]},
                           run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
    print(time.perf_counter() - started)
"""


def fresh_database(server: PostgresStorage, purpose: str) -> PostgresStorage:
    """A new database on the server, so that each measurement starts from empty tables."""
    import sqlalchemy
    from dagster_postgres.utils import get_conn_string

    name = f"vso_bench_{purpose}_{os.getpid()}"
    url = get_conn_string(username=server.username, password=os.environ.get(PASSWORD_ENV, ""),
                          hostname=server.hostname, db_name=server.db_name, port=str(server.port))
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return replace(server, db_name=name, needs_password=bool(os.environ.get(PASSWORD_ENV)))


def dagster_floor(n: int, workdir: Path, postgres: PostgresStorage | None) -> dict:
    home = workdir / "floor-home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    if postgres:  # the instance configuration and event batching VSO uses, on a database of its own
        floor = Project.at(workdir / "floor")
        (home / "dagster.yaml").write_text(instance_config(floor, fresh_database(postgres, "floor")))
        env.setdefault(EVENT_BATCH_ENV, str(EVENT_BATCH_SIZE))
    out = subprocess.run([sys.executable, "-c", FLOOR, str(n)], env=env, check=True, capture_output=True, text=True)
    return {"dagster_floor_s": float(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, help="number of components")
    parser.add_argument("--core-only", action="store_true", help="skip the Dagster measurements")
    parser.add_argument("--workdir", type=Path, default=None, help="where to build (default: the system temp dir)")
    parser.add_argument("--postgres-url", default=None, metavar="URL",
                        help="run the Dagster measurements on this PostgreSQL server, each in a new database "
                             f"(postgresql://USER@HOST:PORT/DB, the password in {PASSWORD_ENV})")
    args = parser.parse_args()
    postgres = parse_postgres_url(args.postgres_url) if args.postgres_url else None
    workdir = Path(tempfile.mkdtemp(prefix="vso-bench-", dir=args.workdir))
    try:
        figures = core(args.n, workdir)
        if not args.core_only:
            figures |= whole(args.n, workdir, postgres)
            figures |= dagster_floor(args.n, workdir, postgres)
            figures["storage"] = "postgres" if postgres else "sqlite"
            figures["vso_decompose_vs_floor"] = figures["vso_decompose_cold_s"] / figures["dagster_floor_s"]
        figures["workdir"] = str(workdir.parent)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
