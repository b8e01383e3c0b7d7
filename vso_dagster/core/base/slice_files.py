"""Everything under `vertical-slices/<id>/`, rendered from templates for one planned slice."""

from __future__ import annotations

from ... import __version__
from .latency_scope import select
from .model import WORKER
from .names import match_key, modal_app_name, python_identifier, short_name
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
        "calls": [{**call, "function": python_identifier(short_name(call["slice_id"]))} for call in s.calls],
        "dependencies": {call["name"]: call["variable"] for call in s.calls},
        "endpoint_pairs": [(ep["method"], ep["path"]) for ep in s.endpoints],
        "round_trips": _round_trips(s, cases),
        "has_health": any(ep["method"] == "GET" and ep["path"].rstrip("/") == "/health" for ep in s.endpoints),
        "latency": s.latency or DEFAULT_LATENCY,
        **_performance_load(s, cases),
        "latency_from_spec": s.latency is not None,
        "unit_tests": [f"test_{s.module}_{'job' if worker else 'contract'}.py"],
        "integration_tests": [] if worker else [f"test_{s.module}_integration.py",
                                                f"test_{s.module}_performance.py"],
        # A database of its own in each environment (VSO_DATABASE_URL), for the records its models describe.
        "owns_data": s.owns_data,
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
    return [{"create": create, "read": read, "param": read["params"][0],
             "fields": [f for f in _model(s, create)["fields"] if f != "id"]}
            for read in cases if read["method"] == "GET" for create in _creators(s, cases, read)]


def _creators(s: PlannedSlice, cases: list[dict], case: dict) -> list[dict]:
    """The POSTs that make the record `/things/{id}` is about: POST /things, whose model has an `id`."""
    if len(case["params"]) != 1:
        return []
    collection = case["path"].rsplit("/", 1)[0]
    return [create for create in cases
            if create["method"] == "POST" and not create["params"] and create["model"]
            and "id" in _model(s, create)["fields"] and create["path"].rstrip("/") == collection]


def _model(s: PlannedSlice, case: dict) -> dict:
    return next(m for m in s.models if m["name"] == case["model"])


def _performance_load(s: PlannedSlice, cases: list[dict]) -> dict:
    """What the performance test sends: the endpoints the latency budget is about. One about a record
    (`/things/{id}`) is loaded on a record made first, where the slice has the POST that makes it; it
    is left out, and said so, where it has none. /health stands in when nothing is left."""
    scope = (s.latency or {}).get("scope")
    # Planning chose the endpoints of a budget from the spec; VSO's default budget is about reads.
    about = [tuple(ep) for ep in s.latency["endpoints"]] if s.latency else \
        select(None, [(case["method"], case["path"]) for case in cases], set()).endpoints
    load, unloadable = [], []
    for case in cases:
        label = f"{case['method']} {case['path']}"
        if (case["method"], case["path"]) not in about:
            continue
        create = next(iter(_creators(s, cases, case)), None)
        if case["params"] and create is None:
            unloadable.append(label)
            continue
        load.append({"label": label, "method": case["method"], "path": case["path"], "body": case["body"],
                     "expect": _EXPECT[case["method"]], "param": case["params"][0] if create else None,
                     "create": {"path": create["path"], "body": create["body"]} if create else None})
    if not load:
        load = [{"label": "GET /health", "method": "GET", "path": "/health", "body": None, "expect": [200],
                 "param": None, "create": None}]
    return {"perf_load": load, "perf_unloadable": unloadable, "perf_scope": scope or "every read",
            "perf_about": [f"{method} {path}" for method, path in about]}
