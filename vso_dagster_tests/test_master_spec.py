"""The master spec parser: every accepted form from docs/master-spec.md, and the errors' lines."""

from __future__ import annotations

import pytest

from vso_dagster.core.base.errors import SpecError
from vso_dagster.core.base.master_spec import parse_master_spec

from .conftest import TODO_SPEC

HEADER = '---\ntitle: "S"\nversion: "1.2.3"\n---\n'


def parse(text: str):
    return parse_master_spec(text.encode(), "master-spec.md")


def body(text: str):
    if "### Components" not in text:
        text += "## Architecture\n### Components\n- **Things**: things\n- **Orders**: orders\n"
    return parse(HEADER + text)


def test_frontmatter_fields_are_read():
    spec = parse(TODO_SPEC)
    assert (spec.title, spec.version, spec.authors, spec.last_updated) == ("Todo", "1.0.0", ("Team",), "2026-01-01")
    assert spec.overview == "A small todo app."


def test_three_ways_to_write_dependencies_and_two_for_platform():
    spec = body(
        "## Architecture\n### Components\n"
        "- **A**: first\n"
        "- **B**: second (depends on: A) (platform: modal)\n"
        "- **C**: third. Depends on: A, B\n"
        "- **D**: fourth\n  - Depends on: C\n  - Platform: hetzner\n  - Keeps an audit trail\n"
        "- **E**: fifth (requires: A). Requires: B\n  - requires: C and D\n"
    )
    by_name = {c.name: c for c in spec.components}
    assert by_name["B"].depends_on == ("A",) and by_name["B"].platform == "modal"
    assert by_name["B"].description == "second"
    assert by_name["C"].depends_on == ("A", "B") and by_name["C"].description == "third"
    assert by_name["D"].depends_on == ("C",) and by_name["D"].platform == "hetzner"
    assert by_name["D"].notes == ("Keeps an audit trail",)
    assert by_name["E"].depends_on == ("A", "B", "C", "D") and by_name["E"].description == "fifth"


def test_components_carry_their_line_numbers():
    spec = parse(TODO_SPEC)
    lines = TODO_SPEC.splitlines()
    for comp in spec.components:
        assert f"**{comp.name}**" in lines[comp.line - 1]


def test_endpoints_accept_both_arrows_and_a_component_tag():
    spec = body("## API Endpoints\n- GET /a → one\n- post /b/{b_id} -> two [Things]\n- GET /c → [just text]\n")
    got = [(e.method, e.path, e.description, e.tag) for e in spec.endpoints]
    assert got == [("GET", "/a", "one", None), ("POST", "/b/{b_id}", "two", "Things"), ("GET", "/c", "just text", None)]


def test_data_models_and_non_functional_latency_budget():
    spec = body(
        "## Requirements\n### Non-Functional\n- Performance: p99 <= 1.5s under load\n- Security: TLS only\n"
        "## Architecture\n### Data Models\n- Order: {id, total: int, placed_at} [Orders]\n"
    )
    assert spec.data_models[0].fields == ("id", "total", "placed_at") and spec.data_models[0].tag == "Orders"
    perf, sec = spec.non_functional
    assert (perf.kind, perf.latency.percentile, perf.latency.millis) == ("Performance", 99.0, 1500.0)
    assert sec.kind == "Security" and sec.latency is None


def test_vertical_slices_section_is_not_input_and_not_in_the_hash():
    before = parse(TODO_SPEC)
    after = parse(TODO_SPEC.replace("<!-- generated -->", "- slice-001-auth\n- **Bogus**: not a component"))
    assert after.content_hash == before.content_hash
    assert [c.name for c in after.components] == [c.name for c in before.components]
    changed = parse(TODO_SPEC.replace("A small todo app.", "A bigger todo app."))
    assert changed.content_hash != before.content_hash


def errors_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse(text)
    return [str(d) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEADER + "## API Endpoints\n- FETCH /a → x\n## Architecture\n### Components\n- **A**: a\n",
         "master-spec.md:6: unknown HTTP method 'FETCH'"),
        (HEADER + "## API Endpoints\n- GET /a;rm → x\n## Architecture\n### Components\n- **A**: a\n",
         "master-spec.md:6: endpoint path '/a;rm'"),
        (HEADER + "## Architecture\n### Components\n- **A**: a (platform: aws)\n",
         "master-spec.md:7: component 'A' has platform 'aws'"),
        (HEADER + "## Architecture\n### Components\n- **A**: a (gpu: V100)\n",
         "master-spec.md:7: component 'A' asks for GPU 'V100'; use one of: T4, L4, A10G"),
        (HEADER + "## Architecture\n### Components\n- **A**: a (platform: hetzner)\n  - GPU: T4\n",
         "master-spec.md:7: component 'A' asks for a GPU on hetzner, which has none"),
        (HEADER + "## Architecture\n### Components\n- A without bold\n",
         "master-spec.md:7: a component bullet must read"),
        (HEADER + "## Architecture\n### Components\n- **A**: a\n### Data Models\n- Order: {id, class-name}\n",
         "master-spec.md:9: field 'class-name' of Order"),
        ('---\ntitle: "S"\nversion: 1.0\n---\n## Architecture\n### Components\n- **A**: a\n',
         "master-spec.md:3: `version` must be a quoted semantic version"),
    ],
)
def test_mistakes_are_reported_at_their_line(text, expected):
    assert any(e.startswith(expected) for e in errors_of(text)), errors_of(text)


def test_all_problems_are_reported_at_once():
    text = HEADER + "## Architecture\n### Components\n- **A**: a (platform: aws)\n- **A**: again\n- **B/c**: x\n"
    errors = errors_of(text)
    assert len(errors) == 3
    assert "duplicates 'A' (line 7)" in errors[1] or any("duplicates 'A' (line 7)" in e for e in errors)
