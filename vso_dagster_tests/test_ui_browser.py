"""The Dagster UI of a VSO project, in a real browser: Debian's Chromium, headless, driven by
Playwright, against `vso ui` on loopback. What a user looks at after `vso decompose`: the code
location, the lineage, the partitions of 10,000 slices and one of them, a production slice's failed
health check, a job's runs, re-executing a run the CLI started, and what the sensors and the
schedule say they do.

VSO_UPDATE_SCREENSHOTS=1 copies the screenshots to docs/img/, where the README shows them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from vso_dagster.core.base.state import record_deployment
from vso_dagster.core.deployment.local import free_port
from vso_dagster.lib.naming import Naming
from vso_dagster.lib.partitions import ensure_slice_partitions

from .conftest import REPO, commit, run_vso
from .dagster_ui import running_ui

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is in the dev extras")
CHROMIUM = Path("/usr/bin/chromium")
# As root, with no network: no sandbox, and none of Chromium's own calls home.
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENS = REPO / "docs" / "img"


@pytest.fixture
def browser_page():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def test_the_dagster_ui_shows_vso_as_a_user_meets_it(todo_project, browser_page, tmp_path):
    subprocess.run(["git", "init", "-q", "-b", "main", str(todo_project.root)], check=True)
    run_vso(todo_project.root, "init", check=True)
    run_vso(todo_project.root, "decompose", check=True)
    commit(todo_project.root)
    # Auth serving production at an address where nothing answers any more: `vso health` finds it
    # down and runs its health check, as the deployment_health sensor would.
    record_deployment(todo_project, "slice-001-auth", "production",
                      {"platform": "local", "url": f"http://127.0.0.1:{free_port()}", "id": "gone"})
    assert "UNHEALTHY" in run_vso(todo_project.root, "health").stdout
    with dg.DagsterInstance.from_config(str(todo_project.dagster_home)) as instance:
        [plan_run] = [r.run_id for r in instance.get_runs() if r.job_name == "vso_plan"]
        [specs_run] = [r.run_id for r in instance.get_runs() if r.job_name == "vso_slice_specs"]
        # 10,000 slices in all, as a spec of that size has: the partition pages must still load.
        ensure_slice_partitions(instance, Naming().slices, [f"slice-{i:05d}-more" for i in range(4, 10_001)])
    page, shots = browser_page, tmp_path / "img"

    def visit(ui, path: str, expect: str):
        page.goto(ui.url + path)
        _dismiss_community_dialog(page)
        page.get_by_text(expect, exact=True).filter(visible=True).first.wait_for()

    def shot(name: str) -> None:
        shots.mkdir(exist_ok=True)
        page.screenshot(path=shots / f"{name}.png")

    with running_ui(todo_project) as ui:
        visit(ui, "/deployment/locations", "vso")
        assert page.get_by_text("Loaded", exact=True).count() >= 1

        visit(ui, "/asset-groups", "decomposition")
        page.keyboard.press("Alt+e")  # the lineage's own shortcut: expand every group
        page.get_by_text("slice_inputs", exact=True).first.wait_for()
        labels = page.locator("[class*=assetName]").all_inner_texts()
        for asset in ("master_spec", "slice_plan", "slice_inputs", "slice_spec", "slice_implementation",
                      "test_deployment", "integration_tests", "production_deployment", "master_sync"):
            assert any(_names(label, asset) for label in labels), (asset, labels)
        shot("lineage")

        visit(ui, "/assets/slice_spec?view=partitions", "slice-002-todos")
        page.get_by_text("10,000 Partitions Selected").first.wait_for()
        page.get_by_text("Materialized (3)").first.wait_for()
        visit(ui, "/assets/slice_spec?view=partitions&partition=slice-10000-more", "slice-10000-more")

        visit(ui, "/assets/slice_spec?view=partitions&partition=slice-002-todos", "component")
        metadata = page.locator("table").filter(has_text="component").first.inner_text()
        assert re.search(r"component\s+Todos", metadata) and re.search(r"version\s+1\.0\.0", metadata)
        assert "slice-001-auth" in metadata  # its dependency
        shot("slice-partition")

        visit(ui, "/assets/production_deployment?view=checks", "Latest execution")
        checks = page.locator("body").inner_text()
        assert re.search(r"health\s+Failed", checks), checks  # red in the list of the asset's checks
        assert re.search(r"slice-001-auth in production: GET http://127\.0\.0\.1:\d+/health: no answer", checks)
        assert re.search(r"Evaluation result\s+Failed", checks) and re.search(r"Partition\s+slice-001-auth", checks)
        shot("health-check")

        visit(ui, "/locations/vso/jobs/vso_plan/runs", plan_run[:8])
        shot("job-runs")

        visit(ui, "/overview/activity/timeline", "vso_slice_specs")  # the CLI's runs are on the timeline

        visit(ui, f"/runs/{specs_run}", specs_run[:8])
        page.get_by_role("button", name=re.compile(r"^Re-execute all")).click()
        page.wait_for_url(re.compile(r"/runs/(?!" + specs_run + r")[0-9a-f-]{36}"))
        child = page.url.rsplit("/", 1)[1].split("?")[0]
        assert ui.wait_for_run(child) == "SUCCESS"
        page.reload()
        page.get_by_text("RUN_SUCCESS", exact=True).first.wait_for()  # its own event log, as the UI shows it
        shot("re-executed-run")

        for sensor in ("implementation_waves", "git_changes"):
            visit(ui, f"/locations/vso/sensors/{sensor}", "Description")
            assert sensor in page.locator("body").inner_text()
            page.get_by_text(re.compile("COSTS MONEY")).first.wait_for()
        shot("sensor")
        visit(ui, "/locations/vso/schedules/nightly", "Description")
        page.get_by_text(re.compile("At 02:00")).first.wait_for()
        page.get_by_text(re.compile("COSTS MONEY")).first.wait_for()

    with dg.DagsterInstance.from_config(str(todo_project.dagster_home)) as instance:
        assert instance.get_run_by_id(child).parent_run_id == specs_run
    if os.environ.get("VSO_UPDATE_SCREENSHOTS"):
        SCREENS.mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, SCREENS / png.name)


def _dismiss_community_dialog(page) -> None:
    """Dagster's UI asks a new browser, once, to join its community; a user skips it."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.click(timeout=3000)
    except playwright.TimeoutError:
        pass


def _names(label: str, asset: str) -> bool:
    """The lineage draws a long name cut in the middle: `slice_im…mentation`."""
    head, cut, tail = label.partition("…")
    return label == asset or (bool(cut) and asset.startswith(head) and asset.endswith(tail))
