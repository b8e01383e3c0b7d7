"""Bad input gets `file:line: what is wrong`, exit 2, no traceback, and the previous
vertical-slices/ and state.json stay exactly as they were."""

from __future__ import annotations

from .conftest import TODO_SPEC, tree_digest

GOOD = TODO_SPEC.encode()
HEADER = b'---\ntitle: "T"\nversion: "1.0.0"\n---\n'
COMPONENTS = b"## Architecture\n### Components\n"


def alias_bomb() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]"
              for i in range(8)]
    header = "\n".join(lines).encode() + b'\ntitle: "T"\nversion: "1.0.0"\n'
    return b"---\n" + header + b"---\n" + COMPONENTS + b"- **A**: a\n"


CASES = {
    "no file": (None, "master-spec.md: master spec not found"),
    "empty file": (b"", "master-spec.md:1: the file is empty"),
    "not UTF-8": (HEADER + COMPONENTS + b"- **A**: caf\xe9\n", "master-spec.md:7: not valid UTF-8"),
    "no frontmatter": (b"# Title\n" + COMPONENTS + b"- **A**: a\n", "master-spec.md:1: no YAML frontmatter"),
    "unclosed frontmatter": (b'---\ntitle: "T"\n', "master-spec.md:1: the frontmatter is not closed"),
    "broken YAML": (b'---\ntitle: "T"\n  version: "1.0.0"\n---\n' + COMPONENTS + b"- **A**: a\n",
                    "master-spec.md:3: the frontmatter is not valid YAML"),
    "alias bomb": (alias_bomb(), "master-spec.md:2: YAML anchors and aliases"),
    "version not semver": (b'---\ntitle: "T"\nversion: "v1"\n---\n' + COMPONENTS + b"- **A**: a\n",
                           "master-spec.md:3: `version` must be a quoted semantic version"),
    "no components": (HEADER + b"## Overview\nNothing yet.\n", "master-spec.md:5: no components found"),
    "duplicate components": (HEADER + COMPONENTS + b"- **Auth**: a\n- **auth**: b\n",
                             "master-spec.md:8: component 'auth' duplicates 'Auth' (line 7)"),
    "dependency cycle": (HEADER + COMPONENTS + b"- **A**: a (depends on: B)\n- **B**: b (depends on: A)\n",
                         "master-spec.md:7: dependency cycle: A \u2192 B \u2192 A"),
    "unknown dependency": (HEADER + COMPONENTS + b"- **A**: a (depends on: Ghost)\n",
                           "master-spec.md:7: component 'A' depends on 'Ghost', which is not a component"),
    "name escapes upward": (HEADER + COMPONENTS + b"- **../..**: escape\n", "master-spec.md:7: component name '../..'"),
    "absolute name": (HEADER + COMPONENTS + b"- **/etc**: escape\n", "master-spec.md:7: component name '/etc'"),
    "NUL in name": (HEADER + COMPONENTS + b"- **A\x00B**: nul\n", "master-spec.md:7: the file holds a NUL byte"),
    "shell metacharacters": (HEADER + COMPONENTS + b"- **Auth; rm -rf ~**: x\n",
                             "master-spec.md:7: component name 'Auth; rm -rf ~'"),
    "command substitution": (HEADER + COMPONENTS + b"- **$(reboot)**: x\n",
                             "master-spec.md:7: component name '$(reboot)'"),
    "YAML nested 20,000 deep (flow)": (b'---\ntitle: "T"\nversion: "1.0.0"\nextra: ' + b"[" * 20000 + b"]" * 20000
                                       + b"\n---\n" + COMPONENTS + b"- **A**: a\n",
                                       "master-spec.md:4: a frontmatter value is nested more than 32 levels deep"),
    "YAML nested 500 deep (block)": (b'---\ntitle: "T"\nversion: "1.0.0"\nextra:\n'
                                     + b"".join(b"  " * i + b"k%d:\n" % i for i in range(1, 500)) + b"  " * 500
                                     + b"x\n---\n" + COMPONENTS + b"- **A**: a\n",
                                     "master-spec.md:36: a frontmatter value is nested more than 32 levels deep"),
    "a path parameter named twice": (HEADER + COMPONENTS + b"- **A**: a\n## API Endpoints\n- GET /a/{id}/x/{id} -> x\n",
                                     "master-spec.md:9: endpoint path '/a/{id}/x/{id}' names the parameter {id} twice"),
    "a path that steps outside": (HEADER + COMPONENTS + b"- **A**: a\n## API Endpoints\n- GET /a/../../etc -> x\n",
                                  "master-spec.md:9: endpoint path '/a/../../etc' has an empty, '.' or '..' segment"),
    "an empty path segment": (HEADER + COMPONENTS + b"- **A**: a\n## API Endpoints\n- GET //a -> x\n",
                              "master-spec.md:9: endpoint path '//a' has an empty, '.' or '..' segment"),
    "10 MB spec": (HEADER + COMPONENTS + b"- **A**: a\n" + b"x" * (10 * 1024 * 1024),
                   "master-spec.md:1: the file is 10.0 MiB"),
}


def test_bad_spec_is_refused_and_nothing_is_lost(todo_project, vso):
    # Every case on one decomposed project (decomposing is the slow part): nothing may change, so
    # each case starts from the same files.
    assert vso("decompose").exit_code == 0
    slices_before = tree_digest(todo_project.slices_dir)
    state_before = todo_project.state_file.read_bytes()
    plan_before = todo_project.plan_file.read_bytes()
    good_spec = todo_project.master_spec.read_bytes()
    for case, (content, expected) in CASES.items():
        if content is None:
            todo_project.master_spec.unlink()
        else:
            todo_project.master_spec.write_bytes(content)
        for command in ("validate", "decompose"):
            result = vso(command)
            assert result.exit_code == 2, (case, command, result.output)
            assert result.stderr.startswith(expected), (case, command, result.stderr)
            assert "Traceback" not in result.output, case
        assert tree_digest(todo_project.slices_dir) == slices_before, case
        assert todo_project.state_file.read_bytes() == state_before, case
        assert todo_project.plan_file.read_bytes() == plan_before, case
        todo_project.master_spec.write_bytes(good_spec)


def test_strict_refuses_what_no_component_owns(todo_project, vso):
    todo_project.master_spec.write_text(TODO_SPEC.replace("## API Endpoints\n", "## API Endpoints\n- GET /stats → x\n"))
    lenient = vso("validate")
    assert lenient.exit_code == 0 and "warning: endpoint 'GET /stats' is not assigned" in lenient.stderr
    strict = vso("decompose", "--strict")
    assert strict.exit_code == 2
    assert strict.stderr.startswith("master-spec.md:33: endpoint 'GET /stats' is not assigned to any component")
    assert not todo_project.slices_dir.exists()
