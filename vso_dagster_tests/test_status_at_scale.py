"""`vso status` on a project of 10,000 slices, as a user reads it: slice-1000 after slice-999, a
summary line of the whole project, filters by status, platform and name, and a table longer than
the terminal handed to the user's pager. The state is the decomposed Todo project's, its slices
copied to 10,000 (state.json is the record `vso status` reads)."""

from __future__ import annotations

import copy
import json

import pytest

from vso_dagster.core.base.slice_selection import SliceFilter, in_id_order, summary

from .conftest import run_vso

STATUSES = ("draft", "implemented", "tested", "deployed")


@pytest.fixture
def ten_thousand(decomposed):
    state = json.loads(decomposed.state_file.read_text())
    model = state["slices"]["slice-001-auth"]
    slices = {}
    for n in range(1, 10_001):
        entry = copy.deepcopy(model)
        entry.update(component=f"Part{n}", status=STATUSES[n % 4], platform=("hetzner", "modal")[n % 2],
                     dependencies=[])
        slices[f"slice-{n:03d}-part{n}"] = entry
    state["slices"] = slices
    state["conflicts"] = [{"slice_id": "slice-1234-part1234", "path": "vertical-slices/slice-1234-part1234/spec.md",
                           "reason": "edited downstream"}]
    decomposed.state_file.write_text(json.dumps(state))
    return decomposed


def table_ids(output: str) -> list[str]:
    return [line.split("│")[1].strip() for line in output.splitlines() if line.startswith("│ slice-")]


def test_status_lists_ten_thousand_slices_in_number_order_with_a_summary(ten_thousand):
    listed = run_vso(ten_thousand.root, "status", check=True).stdout
    ids = table_ids(listed)
    assert len(ids) == 10_000
    assert ids[998:1001] == ["slice-999-part999", "slice-1000-part1000", "slice-1001-part1001"]
    assert ids[-1] == "slice-10000-part10000"
    assert listed.splitlines()[-1] == ("10,000 slices · 2,500 draft, 2,500 implemented, 2,500 tested, "
                                       "2,500 deployed · 1 conflict")
    assert "conflict vertical-slices/slice-1234-part1234/spec.md: edited downstream" in listed


def test_status_filters_by_status_platform_and_name(ten_thousand):
    listed = run_vso(ten_thousand.root, "status", "--status", "tested", "--platform", "hetzner", "part1??",
                     check=True).stdout
    # Tested is n % 4 == 2 (so n is even: hetzner); Part100 to Part199 whole, by the glob.
    assert table_ids(listed) == [f"slice-{n}-part{n}" for n in range(102, 200, 4)]
    assert listed.splitlines()[-1].startswith("25 of 10,000 slices shown · ")
    assert "conflict" not in listed.splitlines()[-2]  # slice-1234's conflict is not among those shown

    anywhere = run_vso(ten_thousand.root, "status", "--status", "draft", "--status", "deployed", "PART999",
                       check=True).stdout
    # Found anywhere in the name, case aside: Part999 and Part9990 to Part9999, draft (n % 4 == 0) or deployed (3).
    assert table_ids(anywhere) == [f"slice-{n}-part{n}" for n in (999, *range(9990, 10_000)) if n % 4 in (0, 3)]
    assert len(table_ids(anywhere)) == 6

    as_json = json.loads(run_vso(ten_thousand.root, "status", "--json", "--platform", "modal", "slice-1??-*",
                                 check=True).stdout)
    assert list(as_json["slices"]) == [f"slice-{n}-part{n}" for n in range(101, 200, 2)]

    refused = run_vso(ten_thousand.root, "status", "--status", "built")
    assert refused.returncode == 2 and "'built' is not one of 'draft', 'implemented'" in refused.stderr


def test_a_table_longer_than_the_terminal_goes_to_the_pager(ten_thousand, tmp_path):
    paged = tmp_path / "paged.txt"
    shown = run_vso(ten_thousand.root, "status", terminal=True, extra_env={"PAGER": f"tee {paged}"}, check=True)
    assert len(table_ids(paged.read_text())) == 10_000
    assert "10,000 slices · " in paged.read_text()
    assert "slice-10000-part10000" in shown.stdout  # tee passed it on to the terminal
    paged.unlink()
    run_vso(ten_thousand.root, "status", "--no-pager", terminal=True, extra_env={"PAGER": f"tee {paged}"},
            check=True)
    piped = run_vso(ten_thousand.root, "status", extra_env={"PAGER": f"tee {paged}"}, check=True)
    assert not paged.exists() and len(table_ids(piped.stdout)) == 10_000
    short = run_vso(ten_thousand.root, "status", "slice-00*", terminal=True, extra_env={"PAGER": f"tee {paged}"},
                    check=True)
    assert not paged.exists() and len(table_ids(short.stdout.replace("\r", ""))) == 9


def test_the_order_filter_and_summary_rules():
    assert in_id_order(["slice-1000-a", "slice-999-b", "slice-010-c", "custom"]) == [
        "slice-010-c", "slice-999-b", "slice-1000-a", "custom"]
    entry = {"component": "Billing API", "status": "draft", "platform": "modal"}
    assert SliceFilter(pattern="bill").matches("slice-001-billing-api", entry)
    assert SliceFilter(pattern="BILLING*").matches("slice-001-billing-api", entry)  # the component's name, whole
    assert not SliceFilter(pattern="bill*").matches("slice-001-x", {"component": "Old billing"})
    assert not SliceFilter(statuses=("implemented",)).matches("slice-001-x", entry)
    assert not SliceFilter(platforms=("hetzner",)).matches("slice-001-x", entry)
    assert summary({"a": {"status": "deployed"}, "b": {"status": "draft"}, "c": {}}, 3, 0) == (
        "3 slices · 1 draft, 1 deployed, 1 without status")
    assert summary({"a": {"status": "draft"}}, 0, 2) == "0 of 1 slice shown · 1 draft · 2 conflicts"
