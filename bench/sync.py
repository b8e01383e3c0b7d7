"""Benchmark: change detection and incremental decomposition (issue 5's targets).

    .venv/bin/python bench/sync.py                                    # ticks; then N=1000 through the core
    .venv/bin/python bench/sync.py --incremental-only --workdir /dev/shm  # the core on tmpfs
    .venv/bin/python bench/sync.py --incremental-only --through dagster   # `vso decompose`'s runs
    .venv/bin/python bench/sync.py --incremental-only --through dagster --git   # ...in a committed repo

1. A git sensor tick (`git_changes`, through Dagster's build_sensor_context on a real instance) after
   one new commit, on a project whose history holds 100 and then 10,000 earlier commits (made with
   `git fast-import`). Both a commit that edits a slice and one that edits the master spec.
2. Incremental decomposition: N components decomposed from scratch (`--repeat` times, each into a
   fresh project), then one component's description changed (`--repeat` times). Each is timed in a
   fresh process after its imports: through the core steps (what a sensor-launched run does), or
   through `vso decompose`'s Dagster runs on the project's instance. Reports both series, the ratio
   of the medians, the worst ratio (slowest change over fastest full run), the slices written and
   every file whose mtime changed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
from decompose import synthetic_spec
from example_project import committed_example

from vso_dagster.core.base.plan import load_plan
from vso_dagster.core.base.project import Project
from vso_dagster.definitions import defs
from vso_dagster.lib.resources import VSOProject

GIT = ["-c", "user.name=b", "-c", "user.email=b@b"]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *GIT, *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def with_history(commits: int) -> Project:
    """The small example, committed on top of `commits` earlier commits of an unrelated file."""
    project, _ = committed_example("todo-small")
    stream = []
    for i in range(commits):
        data = f"entry {i}\n"
        # Each commit on the branch continues from its tip: fast-import needs no `from` for that.
        stream += ["commit refs/heads/history", f"committer b <b@b> {1700000000 + i} +0000", "data 4", "hist",
                   "M 100644 inline notes/history.txt", f"data {len(data)}", data]
    subprocess.run(["git", "-C", str(project.root), "fast-import", "--quiet"], input="\n".join(stream) + "\n",
                   text=True, check=True)
    git(project.root, "merge", "--quiet", "--allow-unrelated-histories", "-m", "history", "history")
    return project


def tick_seconds(project: Project, instance: dg.DagsterInstance, change) -> float:
    cursor = git(project.root, "rev-parse", "HEAD")
    change(project)
    git(project.root, "commit", "--quiet", "-am", "one change")
    started = time.perf_counter()
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                      resources={"vso": VSOProject(root=str(project.root))})
    with dg.partition_loading_context(dynamic_partitions_store=instance):  # as the daemon's code server does
        result = defs.resolve_sensor_def("git_changes").evaluate_tick(context)
    seconds = time.perf_counter() - started
    assert result.run_requests, f"the tick requested nothing: {result.skip_message}"
    return seconds


def edit_slice(project: Project) -> None:
    spec = project.slice_dir("slice-002-todos") / "spec.md"
    spec.write_text(spec.read_text() + "\nOne more note.\n")


def ticks(commits: int, repeat: int = 5) -> dict:
    project = with_history(commits)
    history = int(git(project.root, "rev-list", "--count", "HEAD"))
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("slices", load_plan(project).slice_ids)
        slice_ticks = [tick_seconds(project, instance, edit_slice) for _ in range(repeat)]
        master_ticks = []
        for i in range(repeat):
            master_ticks.append(tick_seconds(project, instance, lambda p, i=i: p.master_spec.write_text(
                p.master_spec.read_text().replace("Todo items", f"Todo items ({i})", 1))))
    return {"history_commits": history, "slice_edit_tick_s": round(statistics.median(slice_ticks), 3),
            "master_edit_tick_s": round(statistics.median(master_ticks), 3)}


# One decomposition in a fresh process, timed after its imports (and, through Dagster, after the
# instance is open): what a sensor-launched run or `vso decompose` does once it is loaded. Both the
# full and the one-component decomposition are measured this way, so neither gains from the other's
# warm process.
STEP = """
import json, sys, time
from pathlib import Path
from vso_dagster.core.base.project import Project
project = Project.at(Path(sys.argv[2]))
if sys.argv[1] == "core":
    from vso_dagster.core.decomposition.decompose import decompose_project
    started = time.perf_counter()
    stale = decompose_project(project)[1]
else:
    import dagster as dg
    from vso_dagster.launch.decompose import decompose
    from vso_dagster.lib.instance import use_project_instance
    use_project_instance(project)
    with dg.DagsterInstance.get() as instance:
        started = time.perf_counter()
        stale = decompose(project, instance).stale
print(json.dumps({"seconds": time.perf_counter() - started, "stale": stale}))
"""


def step(mode: str, root: Path) -> tuple[float, list[str]]:
    env = {**os.environ, "DAGSTER_HOME": "", "VSO_PROJECT_ROOT": ""}
    out = subprocess.run([sys.executable, "-c", STEP, mode, str(root)], env=env, check=True, capture_output=True,
                         text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["seconds"], result["stale"]


def incremental(n: int, workdir: str | None, mode: str, repeat: int, in_git: bool = False) -> dict:
    """`repeat` full decompositions (each into a fresh project) and `repeat` one-component changes.
    `in_git`: the project is a git repository, committed after the full decomposition, so each
    one-component run also pays for VSO committing what it wrote (as in a user's project)."""
    spec = synthetic_spec(n)
    full, one, rewritten, stale_seen, vso_commits = [], [], set(), set(), 0
    for i in range(repeat):
        root = Path(tempfile.mkdtemp(prefix="vso-bench-incremental-", dir=workdir))
        try:
            (root / "master-spec.md").write_text(spec)
            if in_git:
                git(root, "init", "-q", "--initial-branch=main")
            full.append(step(mode, root)[0])
            if i:
                continue
            if in_git:
                git(root, "add", "-A")
                git(root, "commit", "-qm", "slices")
            project = Project.at(root)
            for k in range(repeat):
                before = {p: p.stat().st_mtime_ns for p in project.slices_dir.rglob("*") if p.is_file()}
                text = project.master_spec.read_text()
                project.master_spec.write_text(text.replace("Handles", f"Handles (change {k})", 1))  # component 0
                seconds, stale = step(mode, root)
                one.append(seconds)
                stale_seen.update(stale)
                rewritten.update(str(p.relative_to(project.slices_dir)) for p in project.slices_dir.rglob("*")
                                 if p.is_file() and before.get(p) != p.stat().st_mtime_ns)
            if in_git:
                vso_commits = int(git(root, "rev-list", "--count", "--author=VSO", "HEAD"))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return {"components": n, "through": mode, "full_s": [round(s, 3) for s in full],
            "one_component_s": [round(s, 3) for s in one],
            "ratio_of_medians": round(statistics.median(one) / statistics.median(full), 3),
            "worst_ratio": round(max(one) / min(full), 3), "slices_rewritten": sorted(stale_seen),
            "files_rewritten": sorted(rewritten), "in_git": in_git, "vso_commits": vso_commits}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--workdir", default=None, help="where the incremental project goes (default: temp dir)")
    parser.add_argument("--incremental-only", action="store_true")
    parser.add_argument("--ticks-only", action="store_true", help="only the sensor ticks on 100 and 10,000 commits")
    parser.add_argument("--through", choices=("core", "dagster"), default="core",
                        help="time the core steps, or `vso decompose`'s Dagster runs (slow: the full one is ~20 s)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--git", action="store_true",
                        help="the incremental project is a committed git repository (VSO commits its writes)")
    args = parser.parse_args()
    report = {}
    if not args.incremental_only:
        small, large = ticks(100), ticks(10_000)
        report = {"tick_100": small, "tick_10000": large,
                  "slice_tick_ratio": round(large["slice_edit_tick_s"] / small["slice_edit_tick_s"], 2),
                  "master_tick_ratio": round(large["master_edit_tick_s"] / small["master_edit_tick_s"], 2)}
    if not args.ticks_only:
        report["incremental"] = incremental(args.components, args.workdir, args.through, args.repeat, args.git)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
