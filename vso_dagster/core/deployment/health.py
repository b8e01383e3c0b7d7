"""Whether what VSO deployed still serves: a GET of each recorded endpoint's /health, in every
environment, and the answer kept with the deployment in state.json.

A deploy is health-gated once; a slice can stop answering afterwards (its process died, its server
was rebooted), and only a probe says so. What is kept is the answer and since when it holds, not
each probe's time: a probe that finds nothing changed writes nothing. Until a probe says otherwise,
a deployment answers as its deploy saw it (HEALTHY)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..base.model import ENVIRONMENTS
from ..base.project import Project
from ..base.state import endpoints_in, load_state, now, updating_state

# Probes at once: each waits on the network, not on a core.
PARALLEL_PROBES = 16
# What a deploy's health gate saw of every deployment it recorded.
HEALTHY = {"healthy": True, "detail": "HTTP 200"}


@dataclass(frozen=True)
class Endpoint:
    slice_id: str
    environment: str
    url: str
    deployment_id: str  # the deploy that recorded it: a probe's answer belongs to that one


@dataclass(frozen=True)
class Probe:
    endpoint: Endpoint
    healthy: bool
    detail: str  # "HTTP 200", "HTTP 503", or why no answer came
    millis: float | None  # how long the answer took; None without one

    @property
    def record(self) -> dict:
        """What state.json keeps: the answer, not its timing."""
        return {"healthy": self.healthy, "detail": self.detail}


def served_endpoints(state: dict, environments: Iterable[str] = ENVIRONMENTS,
                     slice_ids: Collection[str] | None = None) -> list[Endpoint]:
    """Every recorded deployment with a URL to probe: a worker slice serves nothing over HTTP."""
    return [Endpoint(slice_id, env, entry["url"], entry.get("id", ""))
            for env in environments
            for slice_id, entry in sorted(endpoints_in(state, env).items())
            if entry.get("url") and (slice_ids is None or slice_id in slice_ids)]


def probe(endpoint: Endpoint, timeout_s: float) -> Probe:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{endpoint.url}/health", timeout=timeout_s) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Probe(endpoint, False, f"no answer: {reason}", None)
    millis = round((time.monotonic() - started) * 1000, 1)
    return Probe(endpoint, status == 200, f"HTTP {status}", millis)


def probe_all(project: Project, environments: Iterable[str] = ENVIRONMENTS,
              slice_ids: Collection[str] | None = None, timeout_s: float = 5.0) -> list[Probe]:
    targets = served_endpoints(load_state(project), environments, slice_ids)
    with ThreadPoolExecutor(max_workers=PARALLEL_PROBES) as pool:
        return list(pool.map(lambda endpoint: probe(endpoint, timeout_s), targets))


def record_health(project: Project, probes: Iterable[Probe]) -> list[Probe]:
    """Keeps each answer with its deployment; returns the probes whose answer changed (a slice that
    fell ill, or recovered). A deployment replaced or taken down since the probe began keeps no
    answer: it was not the one probed."""
    changed = []
    with updating_state(project) as state:
        for p in probes:
            where = p.endpoint
            entry = endpoints_in(state, where.environment).get(where.slice_id)
            if not entry or entry.get("id", "") != where.deployment_id:
                continue
            known = entry.get("health", HEALTHY)
            if {k: known.get(k) for k in p.record} != p.record:
                entry["health"] = {**p.record, "since": now()}
                changed.append(p)
    return changed
