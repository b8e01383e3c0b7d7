"""Alerts, the parts that need no daemon: an incident is told once, a message carries no secret,
and a webhook that fails says why without its URL. (test_health.py has the daemon's sensor telling
a receiver on loopback.)"""

from __future__ import annotations

import json

import pytest

from vso_dagster.core.base.alerts import Finding, new_incidents, payload, post
from vso_dagster.core.deployment.local import free_port

CHECK = "check:production_deployment:health:slice-001-auth"


def test_a_check_that_keeps_failing_is_told_once_and_a_pass_closes_it_and_says_so():
    failing, passing = Finding(CHECK, True, "slice-001-auth is down"), Finding(CHECK, False, "slice-001-auth is up")
    told, still_open = new_incidents([], [passing, failing])
    assert told == [failing] and still_open == [CHECK]  # a pass with no incident open says nothing
    told, still_open = new_incidents(still_open, [failing, failing])
    assert told == [] and still_open == [CHECK]
    told, still_open = new_incidents(still_open, [passing, passing, failing])
    assert told == [passing, failing] and still_open == [CHECK]  # it recovered, then went down again


def test_a_failed_run_is_told_once_and_its_own_red_check_is_not_told_again():
    run = Finding("run:abc", True, "vso_implement failed for slice-002-todos: 1 failed")
    silent = Finding("check:slice_implementation:unit_tests:slice-002-todos", True, "")
    told, still_open = new_incidents([], [silent, run])
    assert told == [run]
    assert still_open == [silent.key]  # the check's incident is open; a run fails once and is not kept


def test_a_message_carries_no_secret_and_is_slack_json(monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", "hc-canary-71aa")
    monkeypatch.setenv("VSO_ALERT_WEBHOOK_URL", "https://hooks.example.com/T0/url-canary-90ff")
    body = json.loads(payload("terraform said hc-canary-71aa at https://hooks.example.com/T0/url-canary-90ff"))
    assert body == {"text": "terraform said *** at ***"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/hooks/secret-path", "not a url"])
def test_a_webhook_that_cannot_take_the_message_says_why_without_its_url(url):
    said = post(url.format(port=free_port()), "hello")  # nothing listens on a free port
    assert said.startswith("the webhook could not be reached") and "secret-path" not in said
