"""The words after a latency budget decide which endpoints its performance test loads."""

from __future__ import annotations

import pytest

from vso_dagster.core.base.latency_scope import segment_keys, select

ENDPOINTS = [("GET", "/health"), ("GET", "/todos"), ("GET", "/todos/{todo_id}"), ("POST", "/todos"),
             ("DELETE", "/todos/{todo_id}"), ("POST", "/orders/checkout"), ("GET", "/api/v1/reports")]
VOCABULARY = {key for _, path in ENDPOINTS for key in segment_keys(path)}


@pytest.mark.parametrize(("scope", "expected", "named"), [
    (None, [("GET", "/todos"), ("GET", "/todos/{todo_id}"), ("GET", "/api/v1/reports")], False),
    ("every read", [("GET", "/todos"), ("GET", "/todos/{todo_id}"), ("GET", "/api/v1/reports")], False),
    ("arrival predictions", [("GET", "/todos"), ("GET", "/todos/{todo_id}"), ("GET", "/api/v1/reports")], False),
    ("writes", [("POST", "/todos"), ("DELETE", "/todos/{todo_id}"), ("POST", "/orders/checkout")], False),
    ("every endpoint", [ep for ep in ENDPOINTS if ep[1] != "/health"], False),
    ("checkout", [("POST", "/orders/checkout")], True),
    ("todo reads", [("GET", "/todos"), ("GET", "/todos/{todo_id}")], True),
    ("the weekly reports", [("GET", "/api/v1/reports")], True),
    ("GET /todos and POST /todos/", [("GET", "/todos"), ("POST", "/todos")], True),
    ("/todos/{todo_id}", [("GET", "/todos/{todo_id}"), ("DELETE", "/todos/{todo_id}")], True),
    ("GET /health", [("GET", "/health")], True),
    ("GET /nowhere", [], True),
    ("checkout (POST /todos)", [("POST", "/todos")], True),
    ("reads and/or writes", [ep for ep in ENDPOINTS if ep[1] != "/health"], False),
], ids=lambda value: repr(value))
def test_a_scope_selects_the_endpoints_it_names(scope, expected, named):
    selection = select(scope, ENDPOINTS, VOCABULARY)
    assert (selection.endpoints, selection.named) == (expected, named)
