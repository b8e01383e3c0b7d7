"""The block cache must never change what a spec means: blocks read through cached chunks are the
blocks of a whole-document parse, for any Markdown, after any edit."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from vso_dagster.core.base import master_spec
from vso_dagster.core.base.master_spec import parse_master_spec, read_project_spec
from vso_dagster.core.base.spec_blocks import BlockCache, _chunk_starts, _lines, body_blocks
from vso_dagster.core.decomposition.decompose import check_project_spec

from .conftest import TODO_SPEC

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.md"))

# Lines that end, continue or hide blocks in CommonMark: a wrong cut between two of them shows.
TRICKY_LINES = [
    "# Heading", "## Architecture", "### Components", "#hashtag is text", "#", "Setext title", "===", "---",
    "- **Auth**: signs users in", "- item", "-", "- ", "* star item", "+ plus item", "* * *", "- - -", "1. one",
    "2) two", "  - nested", "    - deeper", "  continuation", "lazy continuation", "", "", "> quote", "> - quoted item",
    "```", "```python", "~~~", "````", "    indented code", "  ```", "<div>", "<!-- comment", "-->", "</div>",
    "[ref]: /url 'title'", "\t- tabbed", "- item with `code` and [link](x)", "| a | b |", "```a`b", "  ~~~",
    "<!-- one line -->", "   <!-- indented", "<pre>", "</pre>", "<?php", "?>", "<!DOCTYPE html>",
    "text\u2028# not a line of its own", "- carriage\r# return", "\x0c# form feed",
]


@pytest.fixture(autouse=True)
def parse_every_time(monkeypatch):
    """The process-wide memo would answer a spec parsed by an earlier test, bypassing the cache."""
    monkeypatch.setattr(master_spec, "_PARSED", {})


def whole(body: str, first_line: int = 1) -> list:
    return body_blocks(body, first_line, None)


# After a stopper nothing more is cut, and an opener hides cuts until it closes: both are drawn
# less often than the rest, so that most documents are cut many times.
STOPPERS = [line for line in TRICKY_LINES if line.lstrip(" ")[:1] == "<" and line.lstrip(" ")[:4] != "<!--"
            or line.startswith((" ", "\t")) and line.strip()[:3] in ("```", "~~~")]
OPENERS = [line for line in TRICKY_LINES if line[:3] in ("```", "~~~") or line.lstrip(" ").startswith("<!--")]
PLAIN = [line for line in TRICKY_LINES if line not in STOPPERS + OPENERS]


def random_line(rng: random.Random) -> str:
    return rng.choice(rng.choices([PLAIN, OPENERS, STOPPERS], weights=[90, 8, 2])[0])


def one_by_one(body: str) -> list:
    """Each chunk tokenized on its own, as a chunk met again in another spec is: right only if every
    cut is a boundary CommonMark keeps whatever came before it."""
    lines = _lines(body)
    starts = _chunk_starts(lines)
    return [block for start, end in zip(starts, starts[1:] + [len(lines)], strict=True)
            for block in whole("".join(lines[start:end]), 5 + start)]


@pytest.mark.parametrize("seed", range(600))
def test_cut_and_cached_blocks_equal_a_whole_parse_of_random_markdown(seed):
    rng = random.Random(seed)
    lines = [random_line(rng) for _ in range(rng.randint(1, 40))]
    body = "\n".join(lines) + "\n"
    assert one_by_one(body) == whole(body, 5), body
    cache = BlockCache()
    assert body_blocks(body, 5, cache) == whole(body, 5), body
    edited = lines[:]
    edited.insert(rng.randrange(len(edited) + 1), random_line(rng))
    edited[rng.randrange(len(edited))] = random_line(rng)
    body = "\n".join(edited) + "\n"
    assert body_blocks(body, 5, cache) == whole(body, 5), body


def test_the_random_documents_are_cut_often():
    """Else the test above would compare whole parses with whole parses."""
    chunks = []
    for seed in range(600):
        rng = random.Random(seed)
        cache = BlockCache()
        body_blocks("\n".join(random_line(rng) for _ in range(rng.randint(1, 40))) + "\n", 1, cache)
        chunks.append(len(cache.used))
    assert sum(chunks) > 1500 and sum(n > 3 for n in chunks) > 150 and max(chunks) > 10


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_an_edited_example_reads_the_same_through_the_cache_and_tokenizes_one_chunk(example, tmp_path):
    text = example.read_text()
    cached = parse_master_spec(text.encode(), "m.md", BlockCache())
    assert cached == dataclasses.replace(parse_master_spec(text.encode(), "m.md#whole"), path="m.md")
    saved = tmp_path / "blocks.json"
    first = BlockCache(saved)
    body_blocks(text, 1, first)
    saved.write_text(first.to_json())  # what the previous process left
    component = next(line for line in text.splitlines() if line.startswith("- **"))
    edited = text.replace(component, component + " Now with audit logs.", 1)
    again = BlockCache(saved)
    assert body_blocks(edited, 1, again) == whole(edited)
    assert again.missed == 1, "only the edited bullet is tokenized again"


def test_validate_writes_no_cache(todo_project):
    check_project_spec(todo_project)
    assert not todo_project.cache_dir.exists()


def test_the_project_keeps_its_cache_out_of_git(todo_project):
    cache_file = todo_project.cache_dir / "master-spec-blocks.json"
    spec = read_project_spec(todo_project)
    assert json.loads(cache_file.read_text())["chunks"]
    assert (todo_project.cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    mtime = cache_file.stat().st_mtime_ns
    assert read_project_spec(todo_project) == spec
    assert cache_file.stat().st_mtime_ns == mtime, "an unchanged spec rewrites no cache"


@pytest.mark.parametrize("damage", [
    "not json", json.dumps([1, 2]), json.dumps({"parser": "another", "chunks": {}}),
])
def test_a_damaged_or_foreign_cache_is_ignored(todo_project, damage):
    expected = parse_master_spec(TODO_SPEC.encode(), "master-spec.md#fresh")
    todo_project.write(todo_project.cache_dir / "master-spec-blocks.json", damage)
    spec = read_project_spec(todo_project)
    assert (spec.components, spec.endpoints, spec.data_models) == \
        (expected.components, expected.endpoints, expected.data_models)


def test_a_cache_entry_that_does_not_decode_falls_back_to_a_whole_parse(todo_project):
    read_project_spec(todo_project)
    cache_file = todo_project.cache_dir / "master-spec-blocks.json"
    raw = json.loads(cache_file.read_text())
    raw["chunks"] = {text: [["i", "not a line", 3, []]] for text in raw["chunks"]}
    cache_file.write_text(json.dumps(raw))
    todo_project.master_spec.write_text(TODO_SPEC.replace("A small todo app.", "A small todo app, edited."))
    spec = read_project_spec(todo_project)
    assert [c.name for c in spec.components] == ["Auth", "Todos", "Reports"]
