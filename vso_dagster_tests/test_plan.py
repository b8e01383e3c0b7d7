"""Decomposition: order, stable IDs, platforms, and who owns which endpoint, model and requirement."""

from __future__ import annotations

import pytest

from vso_dagster.core.base.errors import SpecError
from vso_dagster.core.base.master_spec import parse_master_spec
from vso_dagster.core.base.plan import mermaid
from vso_dagster.core.base.slice_files import slice_files
from vso_dagster.core.decomposition.planning import assign_slice_ids, build_plan, unassigned_errors

from .conftest import EXAMPLES

HEADER = '---\ntitle: "S"\nversion: "1.0.0"\n---\n'


def plan_of(components: str, rest: str = "", known: dict | None = None):
    text = HEADER + "## Architecture\n### Components\n" + components + rest
    return build_plan(parse_master_spec(text.encode(), "master-spec.md"), known or {})


def ids(plan) -> list[str]:
    return plan.slice_ids


def test_dependencies_come_first_and_ties_keep_spec_order():
    plan = plan_of("- **Web**: ui (depends on: Api)\n- **Zeta**: z\n- **Api**: api (depends on: Db)\n- **Db**: db\n")
    assert ids(plan) == ["slice-001-zeta", "slice-002-db", "slice-003-api", "slice-004-web"]
    assert plan.slices[3].dependencies == ["slice-003-api"]
    assert ("slice-002-db", "slice-003-api") in plan.edges


def test_order_is_deterministic():
    comps = "".join(f"- **C{i}**: c (depends on: C0)\n" for i in range(1, 30)) + "- **C0**: root\n"
    assert ids(plan_of(comps)) == ids(plan_of(comps))


def known_from(plan) -> dict:
    return {s.slice_id: {"component": s.name} for s in plan.slices}


def test_ids_survive_adding_and_removing_components():
    first = plan_of("- **Auth**: a\n- **Users**: u (depends on: Auth)\n- **Billing**: b\n")
    assert ids(first) == ["slice-001-auth", "slice-002-users", "slice-003-billing"]
    grown = plan_of("- **Auth**: a\n- **Search**: s\n- **Users**: u (depends on: Auth)\n- **Billing**: b\n",
                    known=known_from(first))
    assert {s.name: s.slice_id for s in grown.slices} == {
        "Auth": "slice-001-auth", "Search": "slice-004-search", "Users": "slice-002-users",
        "Billing": "slice-003-billing"}
    shrunk = plan_of("- **Auth**: a\n- **Billing**: b\n", known=known_from(grown))
    assert ids(shrunk) == ["slice-001-auth", "slice-003-billing"]
    assert shrunk.retired == ["slice-002-users", "slice-004-search"]
    back = plan_of("- **Auth**: a\n- **Users**: u\n", known={**known_from(grown)})
    assert "slice-002-users" in ids(back)


def test_new_numbers_never_reuse_a_retired_one():
    assigned = assign_slice_ids(["New"], {"slice-007-old": {}})
    assert assigned == {"New": "slice-008-new"}


@pytest.mark.parametrize(
    ("component", "platform", "why"),
    [
        ("- **Recommender**: ML inference for suggestions\n", "modal", "compute-heavy"),
        ("- **Thumbs**: Image processing of uploads\n", "modal", "compute-heavy"),
        ("- **Email**: Sends mail\n", "hetzner", "default"),
        ("- **Trainer**: Model training (platform: hetzner)\n", "hetzner", "set in the master spec"),
        ("- **Mailer**: Sends email (platform: modal)\n", "modal", "set in the master spec"),
        ("- **Ranker**: Orders results (gpu: a10g)\n", "modal", "it asks for a GPU (A10G), which only Modal offers"),
    ],
)
def test_platform_rule(component, platform, why):
    s = plan_of(component).slices[0]
    assert s.platform == platform and why in s.platform_reason


def test_a_gpu_asked_for_is_in_the_modal_app_and_the_slice_spec():
    plan = plan_of("- **Ranker**: Orders results\n  - GPU: L4\n")
    [ranker] = plan.slices
    files = slice_files(plan.master, ranker, "1.0.0")
    assert ranker.gpu == "L4" and '"gpu": \'L4\',' in files["modal/app.py"]
    assert "GPU: L4; CPU and memory: Modal's defaults" in files["spec.md"]


ENDPOINTS = (
    "### Data Models\n- UserProfile: {id, bio}\n- Invoice: {id, total}\n- Ghost: {id}\n"
    "## API Endpoints\n"
    "- GET /api/v1/user_profiles/{id} → by plural, underscore and prefix\n"
    "- GET /user-profile → by singular and dash\n"
    "- POST /charge → explicit tag [Billing Service]\n"
    "- GET /billing/invoices → by a component name without its 'Service' suffix\n"
    "- GET /nowhere → no owner\n"
    "## Requirements\n### Functional\n- Invoices are emailed monthly\n- The moon is made of cheese\n"
)


def test_endpoints_models_and_requirements_are_assigned_by_the_documented_rules():
    plan = plan_of("- **User Profiles**: profiles\n- **Billing Service**: money\n", ENDPOINTS)
    profiles, billing = plan.slices
    assert [e["path"] for e in profiles.endpoints] == ["/api/v1/user_profiles/{id}", "/user-profile"]
    assert [e["path"] for e in billing.endpoints] == ["/charge", "/billing/invoices"]
    assert [m["name"] for m in profiles.models] == ["UserProfile"]
    assert [m["name"] for m in billing.models] == ["Invoice"]
    assert billing.functional == ["Invoices are emailed monthly"]
    assert {(u.kind, u.label) for u in plan.unassigned} == {
        ("endpoint", "GET /nowhere"), ("data model", "Ghost"), ("requirement", "The moon is made of cheese")}


def test_strict_turns_unassigned_items_into_errors_at_their_lines():
    plan = plan_of("- **Billing**: money\n", "## API Endpoints\n- GET /nowhere → x\n")
    [error] = unassigned_errors(plan, "master-spec.md")
    assert str(error).startswith("master-spec.md:9: endpoint 'GET /nowhere' is not assigned")


def test_non_functional_requirements_apply_to_every_slice_unless_tagged():
    plan = plan_of("- **A**: a\n- **B**: b\n",
                   "## Requirements\n### Non-Functional\n- Performance: p95 < 300ms\n- Availability: 99.9%\n"
                   "- Performance: p99 < 2s [B]\n")
    a, b = plan.slices
    assert a.latency == {"percentile": 95.0, "millis": 300.0, "scope": None, "endpoints": []}
    assert b.latency == {"percentile": 99.0, "millis": 2000.0, "scope": None, "endpoints": []}
    assert [r["text"] for r in a.non_functional] == ["Performance: p95 < 300ms", "Availability: 99.9%"]
    # B's own budget replaces the global one: its spec asks for one latency, the one its test measures.
    assert [r["text"] for r in b.non_functional] == ["Availability: 99.9%", "Performance: p99 < 2s"]


SHOP = ("- **Catalog**: products\n- **Orders**: orders and checkout\n",
        "## API Endpoints\n- GET /catalog/items → List\n- GET /catalog/items/{item_id} → One\n"
        "- POST /catalog/items → Add\n- GET /orders → List\n"
        "- POST /orders/checkout → Check out\n")


def test_a_latency_budget_is_about_the_endpoints_its_scope_names():
    plan = plan_of(*SHOP[:1], SHOP[1] + "## Requirements\n### Non-Functional\n"
                   "- Performance: p95 < 300ms for every read\n- Performance: p99 < 100ms for checkout\n")
    catalog, orders = plan.slices
    # The checkout budget is about Orders' POST only; Catalog has no checkout, so its reads' budget holds.
    assert orders.latency == {"percentile": 99.0, "millis": 100.0, "scope": "checkout",
                              "endpoints": [["POST", "/orders/checkout"]]}
    assert catalog.latency["endpoints"] == [["GET", "/catalog/items"], ["GET", "/catalog/items/{item_id}"]]
    assert [r["text"] for r in catalog.non_functional] == ["Performance: p95 < 300ms for every read"]


def test_a_budget_that_names_endpoints_no_slice_has_is_refused_at_its_line():
    with pytest.raises(SpecError) as refused:
        plan_of(*SHOP[:1], SHOP[1] + "## Requirements\n### Non-Functional\n- Performance: p99 < 1s for GET /order\n"
                "- Performance: p95 < 1s for catalog writes [Orders]\n")
    first, second = refused.value.diagnostics
    assert str(first).endswith("the latency budget's scope 'GET /order' names no endpoint of any component "
                               "(endpoints: GET /catalog/items, GET /catalog/items/{item_id}, POST /catalog/items, "
                               "GET /orders, POST /orders/checkout); name one as `for GET /path`, "
                               "or write `for every read`")
    assert "scope 'catalog writes' names no endpoint of Orders (endpoints: GET /orders, POST /orders/checkout)" \
        in str(second)
    assert first.line + 1 == second.line


def test_a_model_goes_to_the_component_its_name_points_at_before_one_whose_prose_mentions_it():
    plan = plan_of("- **Cart**: the shopping basket\n- **Checkout**: turns a user's cart item list into an order\n"
                   "- **Auth**: sign-up and login\n",
                   "### Data Models\n- CartItem: {id, sku}\n- User: {id, email}\n- Session: {id}\n"
                   "## Requirements\n### Functional\n- Users sign up with an email [Auth]\n"
                   "## API Endpoints\n- POST /sessions → Log in [Auth]\n")
    cart, checkout, auth = plan.slices
    assert [m["name"] for m in cart.models] == ["CartItem"]  # its name starts with Cart (Checkout only says so)
    assert [m["name"] for m in auth.models] == ["User", "Session"]  # Auth's own requirement; its endpoint path
    assert checkout.models == [] and plan.unassigned == []


def test_the_shipped_todo_example_gives_the_user_model_to_auth():
    from vso_dagster.core.base.master_spec import read_master_spec

    plan = build_plan(read_master_spec(EXAMPLES / "todo-small.md"), {})
    models = {s.name: [m["name"] for m in s.models] for s in plan.slices}
    assert models == {"Auth": ["User"], "Todos": ["Todo"], "Notifications": ["Digest"]}


def error_text(components: str, rest: str = "") -> str:
    with pytest.raises(SpecError) as info:
        plan_of(components, rest)
    return str(info.value)


def test_a_cycle_is_named():
    text = error_text("- **A**: a (depends on: C)\n- **B**: b (depends on: A)\n- **C**: c (depends on: B)\n")
    assert text.startswith("master-spec.md:7: dependency cycle: ")
    assert all(name in text for name in "ABC") and "remove one of these dependencies" in text


def test_an_unknown_dependency_is_named():
    text = error_text("- **A**: a\n- **B**: b (depends on: Billing)\n")
    assert text.startswith("master-spec.md:8: component 'B' depends on 'Billing', which is not a component")


def test_an_unknown_tag_is_an_error():
    text = error_text("- **A**: a\n", "## API Endpoints\n- GET /x → x [Nope]\n")
    assert text.startswith("master-spec.md:9: tag [Nope] names no component")


def test_mermaid_graph_lists_every_slice_and_edge():
    plan = plan_of("- **A**: a\n- **B**: b (depends on: A)\n")
    assert mermaid([(s.slice_id, s.name) for s in plan.slices], plan.edges).splitlines() == [
        "graph TD", '  slice_001_a["slice-001-a: A"]', '  slice_002_b["slice-002-b: B"]',
        "  slice_001_a --> slice_002_b"]


def test_a_requirement_goes_to_the_components_it_names_before_model_owners():
    plan = plan_of("- **Auth**: a\n- **Todos**: t\n- **Reports**: r\n",
                   "### Data Models\n- User: {id, email} [Auth]\n"
                   "## Requirements\n### Functional\n- A user can create todos and reports\n- Each user has an email\n")
    auth, todos, reports = plan.slices
    assert todos.functional == reports.functional == ["A user can create todos and reports"]
    assert auth.functional == ["Each user has an email"]


def test_endpoints_that_make_the_same_name_get_distinct_ones():
    plan = plan_of("- **A**: a\n", "## API Endpoints\n- GET /a/b → one [A]\n- GET /a_b → two [A]\n"
                                   "- GET /a/b/2 → three [A]\n")
    names = [e["function"] for e in plan.slices[0].endpoints]
    assert len(set(names)) == 3 and names[0] == "get_a_b", names


def test_a_component_whose_name_has_and_in_it_can_be_depended_on():
    plan = plan_of("- **Sales and Marketing**: s\n- **Auth**: a\n- **Reports**: r (depends on: Sales and Marketing)\n"
                   "- **Admin**: x (depends on: Auth and Reports)\n")
    by_name = {s.name: s.dependency_names for s in plan.slices}
    assert by_name["Reports"] == ["Sales and Marketing"] and by_name["Admin"] == ["Auth", "Reports"]


def test_names_that_differ_only_in_spaces_are_duplicates():
    assert "component 'UserProfiles' duplicates 'User Profiles'" in error_text(
        "- **User Profiles**: p\n- **UserProfiles**: q\n")
