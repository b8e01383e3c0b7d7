"""Everything under `vertical-slices/<id>/`, rendered from templates for one planned slice."""

from __future__ import annotations

from ... import __version__
from .model import WORKER
from .names import match_key, modal_app_name, python_identifier
from .plan import PlannedSlice
from .project import JOB_FILE, SERVICE_FILE
from .templating import render

# What a correct implementation may answer, by method; the skeleton answers 501. A read of one
# record (a path parameter) may also answer 404 for the made-up ID the contract test asks for.
_EXPECT = {
    "GET": [200],
    "HEAD": [200],
    "POST": [200, 201, 202, 204, 400, 401, 403, 404, 409, 422],
    "PUT": [200, 201, 204, 400, 404, 422],
    "PATCH": [200, 204, 400, 404, 422],
    "DELETE": [200, 202, 204, 404],
    "OPTIONS": [200, 204],
}
DEFAULT_LATENCY = {"percentile": 95.0, "millis": 1000.0}


def implementation_file(s: PlannedSlice) -> str:
    """Where, in the slice's directory, its implementation lives: what a team writes."""
    return JOB_FILE if s.kind == WORKER else SERVICE_FILE


def slice_files(master: dict, s: PlannedSlice, version: str) -> dict[str, str]:
    """Relative path -> file content for one slice. Only what is stable goes in (no live status, no
    endpoint URL): these files are committed, and a build or a deploy must not change them."""
    ctx = _context(master, s, version)
    module = s.module
    tests = "slice/tests"
    files = {
        "spec.md": render("slice/spec.md.j2", **ctx),
        "metadata.json": render("slice/metadata.json.j2", **ctx),
    }
    if ctx["worker"]:
        # A job: its entry point and a unit test of it; nothing serves, so no HTTP test and no server.
        return {**files,
                JOB_FILE: render("slice/worker/job.py.j2", **ctx),
                "worker/requirements.txt": render("slice/worker/requirements.txt.j2", **ctx),
                f"tests/unit/test_{module}_job.py": render(f"{tests}/unit/test_job.py.j2", **ctx)}
    files = {
        **files,
        SERVICE_FILE: render("slice/service/main.py.j2", **ctx),
        "service/requirements.txt": render("slice/service/requirements.txt.j2", **ctx),
        f"tests/unit/test_{module}_contract.py": render(f"{tests}/unit/test_contract.py.j2", **ctx),
        f"tests/integration/test_{module}_integration.py": render(f"{tests}/integration/test_integration.py.j2", **ctx),
        f"tests/integration/test_{module}_performance.py": render(f"{tests}/integration/test_performance.py.j2", **ctx),
        "terraform/main.tf": render("slice/terraform/main.tf.j2", **ctx),
        "terraform/firewall.tf": render("slice/terraform/firewall.tf.j2", **ctx),
        "terraform/variables.tf": render("slice/terraform/variables.tf.j2", **ctx),
        "terraform/outputs.tf": render("slice/terraform/outputs.tf.j2", **ctx),
        "terraform/user-data.sh": render("slice/terraform/user-data.sh.j2", **ctx),
    }
    for name in ctx["e2e_tests"]:
        files[f"tests/e2e/{name}"] = render(f"{tests}/e2e/test_e2e.py.j2", **ctx)
    if s.platform == "modal":
        files["modal/app.py"] = render("slice/modal/app.py.j2", **ctx)
    return files


def _context(master: dict, s: PlannedSlice, version: str) -> dict:
    cases = [_case(s, ep) for ep in s.endpoints]
    kind = s.kind
    worker = kind == WORKER
    return {
        "kind": kind,
        "worker": worker,
        "master": master,
        "s": s,
        "version": version,
        "vso_version": __version__,
        "cases": cases,
        # The services it calls: {slice_id, name, variable, function} (the test's name for each).
        "calls": [{**call, "function": python_identifier(call['slice_id'].split('-', 2)[2])} for call in s.calls],
        "dependencies": {call["name"]: call["variable"] for call in s.calls},
        "endpoint_pairs": [(ep["method"], ep["path"]) for ep in s.endpoints],
        "round_trips": _round_trips(s, cases),
        "has_health": any(ep["method"] == "GET" and ep["path"].rstrip("/") == "/health" for ep in s.endpoints),
        "latency": s.latency or DEFAULT_LATENCY,
        # What the performance test loads: the slice's reads that need no record to exist (a budget
        # is about the requests users wait on); /health when it has none.
        "perf_paths": [ep["path"] for ep in s.endpoints if ep["method"] == "GET" and not ep["params"]
                       and ep["path"].rstrip("/") != "/health"] or ["/health"],
        "latency_from_spec": s.latency is not None,
        "unit_tests": [f"test_{s.module}_{'job' if worker else 'contract'}.py"],
        "integration_tests": [] if worker else [f"test_{s.module}_integration.py",
                                                f"test_{s.module}_performance.py"],
        # A database of its own in each environment (VSO_DATABASE_URL), for the records its models describe.
        "owns_data": bool(s.models) and not worker,
        "e2e_tests": [f"test_{s.module}_e2e.py"] if s.calls else [],
        "modal_app": modal_app_name(s.slice_id),
    }


def _model_for(s: PlannedSlice, path: str) -> dict | None:

    segments = {match_key(seg) for seg in path.split("/") if seg and not seg.startswith("{")}
    for model in s.models:
        if match_key(model["name"]) in segments:
            return model
    return None


def sample_value(field: str) -> object:
    """A plausible value for a field, chosen by its name, so a validating implementation accepts it."""
    f = field.lower()
    if "email" in f:
        return "user@example.com"
    if "password" in f:
        return "s3cret-Passw0rd!"
    if f.endswith(("_at", "date", "time")):
        return "2026-01-01T00:00:00Z"
    if f.startswith(("is_", "has_")) or f in ("done", "active", "enabled", "completed"):
        return False
    if any(word in f for word in ("count", "amount", "price", "quantity", "total", "age", "score", "rating")):
        return 1
    return f"sample {field}"


def _case(s: PlannedSlice, ep: dict) -> dict:
    model = _model_for(s, ep["path"])
    body = None
    if ep["method"] in ("POST", "PUT", "PATCH"):
        body = {f: sample_value(f) for f in (model["fields"] if model else []) if f != "id"}
    url = ep["path"]
    for param in ep["params"]:
        url = url.replace("{" + param + "}", "vso-missing-" + param)
    return {**ep, "url": url, "body": body, "model": model["name"] if model else None,
            "expect": _expected(ep["method"], bool(ep["params"]))}


def _expected(method: str, has_params: bool) -> list[int]:
    statuses = _EXPECT[method]
    return statuses + [404] if has_params and 404 not in statuses else statuses


def _round_trips(s: PlannedSlice, cases: list[dict]) -> list[dict]:
    """POST /things then GET /things/{id}: what is created can be read back (needs a model with `id`)."""
    trips = []
    for create in cases:
        if create["method"] != "POST" or create["params"] or not create["model"]:
            continue
        model = next(m for m in s.models if m["name"] == create["model"])
        if "id" not in model["fields"]:
            continue
        for read in cases:
            if (read["method"] == "GET" and len(read["params"]) == 1
                    and read["path"].rsplit("/", 1)[0] == create["path"].rstrip("/")):
                trips.append({"create": create, "read": read, "param": read["params"][0],
                              "fields": [f for f in model["fields"] if f != "id"]})
    return trips
