"""Properties of the master spec parser, over generated input (hypothesis): whatever the text, a
spec or VSO's own error, nothing else; and the content hash sees every edit outside the generated
section and none inside it."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.base.master_spec import parse_master_spec

from .conftest import TODO_SPEC

HEADER = '---\ntitle: "T"\nversion: "1.0.0"\n---\n'
# Markdown's own characters, and the ones str.splitlines breaks at and markdown-it does not.
PIECES = list("#-*+>`~[](){}:|!_ \n\t\rAa1→") + ["\x0c", "\x1c", "\x85", "\u2028", "**", "```", "\n## ", "\n- ",
                                                 "\n### Components\n", "(depends on: A)", "[A]", "GET /a/{x}"]
MARKDOWNISH = st.lists(st.sampled_from(PIECES), max_size=120).map("".join)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parsed_or_refused(text: str) -> None:
    try:
        parse_master_spec(text.encode(), "master-spec.md")
    except VSOError:
        pass  # VSO's own error, with file and line: what the CLI prints


@SETTINGS
@given(st.text(max_size=400))
def test_any_text_is_a_spec_or_vsos_own_error(text):
    parsed_or_refused(text)


@SETTINGS
@given(MARKDOWNISH)
def test_any_markdown_body_is_a_spec_or_vsos_own_error(body):
    parsed_or_refused(HEADER + "## Architecture\n### Components\n- **A**: a\n" + body)


OVERVIEW = "A small todo app."
SECTION_LINE = "<!-- generated -->"
WORDS = st.text(alphabet=st.sampled_from(list("abc XYZ019.,") + ["\x0c", "\x1c", "\x1e", "\x85", "\u2028"]),
                min_size=1, max_size=30)


def content_hash(text: str) -> str:
    return parse_master_spec(text.encode(), "master-spec.md").content_hash


@SETTINGS
@given(WORDS, st.integers(min_value=0, max_value=len(OVERVIEW)))
def test_an_edit_outside_the_generated_section_always_changes_the_hash(words, at):
    assert OVERVIEW in TODO_SPEC and SECTION_LINE in TODO_SPEC
    edited = TODO_SPEC.replace(OVERVIEW, OVERVIEW[:at] + words + OVERVIEW[at:])
    assert content_hash(edited) != content_hash(TODO_SPEC)


@SETTINGS
@given(WORDS, st.integers(min_value=0, max_value=len(OVERVIEW)))
def test_the_line_right_above_the_section_counts_whatever_came_before(words, at):
    """Line breaks str.splitlines sees and the parser does not (\\x0c, \\u2028, ...) earlier in the
    file must not shift the skipped section onto the line above it."""
    spec = TODO_SPEC.replace(OVERVIEW, OVERVIEW[:at] + words + OVERVIEW[at:]).replace(
        "- GET /reports/weekly -> Weekly report\n\n## Vertical Slices", "- GET /reports/weekly -> Weekly report\n"
                                                                      "## Vertical Slices")
    edited = spec.replace("-> Weekly report", "-> Weekly report, as PDF")
    assert content_hash(edited) != content_hash(spec)


@SETTINGS
@given(WORDS)
def test_an_edit_inside_the_generated_section_never_changes_the_hash(words):
    edited = TODO_SPEC.replace(SECTION_LINE, SECTION_LINE + words)
    assert content_hash(edited) == content_hash(TODO_SPEC)
