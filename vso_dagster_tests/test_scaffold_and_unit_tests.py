"""The scaffold agent takes both examples to green unit tests; the test runner reports what pytest saw."""

from __future__ import annotations

import pytest

from vso_dagster.core.base.unit_tests import run_tests
from vso_dagster.core.implementation.scaffold_agent import Route, _route, implement

from .conftest import decompose_example


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/todos", Route("POST", "/todos", "create", "/todos", None)),
        ("GET", "/todos", Route("GET", "/todos", "list", "/todos", None)),
        ("GET", "/todos/{todo_id}", Route("GET", "/todos/{todo_id}", "read", "/todos", "todo_id")),
        ("PATCH", "/orders/{order_id}", Route("PATCH", "/orders/{order_id}", "update", "/orders", "order_id")),
        ("DELETE", "/a/{a_id}", Route("DELETE", "/a/{a_id}", "delete", "/a", "a_id")),
        ("POST", "/payments/{payment_id}/refund",
         Route("POST", "/payments/{payment_id}/refund", "act", "/payments", "payment_id")),
    ],
)
def test_endpoint_shapes(method, path, expected):
    params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
    assert _route(method, path, params) == expected


@pytest.mark.parametrize("example", ["todo-small", "marketplace"])
def test_scaffold_agent_turns_every_slice_green(tmp_path, example):
    project, plan = decompose_example(tmp_path, example)
    suites = [project.slice_dir(s.slice_id) / "tests/unit" for s in plan.slices]
    red = run_tests(suites)
    failing_modules = {name.split("::")[0].rsplit(".", 1)[-1] for name in red.failing}
    assert failing_modules == {f"test_{s.module}_contract" for s in plan.slices if s.endpoints}
    for s in plan.slices:
        (project.slice_dir(s.slice_id) / "service/main.py").write_text(implement(s))
    green = run_tests(suites)
    assert green.green, (green.summary(), green.failing, green.output_tail)
    assert green.passed >= red.passed + red.failed


def test_run_tests_reports_failures_by_name(tmp_path):
    (tmp_path / "test_mixed.py").write_text(
        "import pytest\n"
        "def test_ok(): assert True\n"
        "def test_bad(): assert 1 == 2\n"
        "@pytest.mark.skip(reason='later')\n"
        "def test_later(): pass\n")
    run = run_tests(tmp_path)
    assert (run.passed, run.failed, run.errors, run.skipped) == (1, 1, 0, 1)
    assert run.failing == ["test_mixed::test_bad"] and not run.green


def test_a_collection_error_is_not_green(tmp_path):
    (tmp_path / "test_broken.py").write_text("import not_a_module_anywhere\n")
    run = run_tests(tmp_path)
    assert run.errors >= 1 and not run.green


def test_an_empty_suite_is_not_green(tmp_path):
    assert not run_tests(tmp_path).green
