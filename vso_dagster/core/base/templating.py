"""The one Jinja environment every generated file comes from (StrictUndefined: a missing value is a
bug, never an empty string in a user's file)."""

from __future__ import annotations

import hashlib
import json
import shlex
from functools import cache
from pathlib import Path

import jinja2

from ... import __version__
from .prose import purpose, requirement_clause


def templates_dir() -> Path:
    """Inside the wheel the templates sit in the package; in a source checkout, at the repo root."""
    packaged = Path(__file__).resolve().parents[2] / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[3] / "templates"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    # Values from a spec enter Python source only through repr(), and JSON only through json.dumps.
    env.filters["pyrepr"] = repr
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent, sort_keys=True)
    # A YAML double-quoted scalar is a superset of a JSON string: quotes and backslashes are escaped.
    env.filters["yamlstr"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    env.filters["oneline"] = lambda text: " ".join(str(text).split())
    env.filters["purpose"] = purpose
    env.filters["requirement_clause"] = requirement_clause
    env.filters["shquote"] = lambda value: shlex.quote(str(value))
    return env


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)


@cache
def fingerprint() -> str:
    """Changes whenever a slice template or VSO's version changes, so generated slice files are
    refreshed. Project and agent templates generate no slice file: a change to them regenerates none."""
    digest = hashlib.sha256(__version__.encode())
    root = templates_dir()
    for path in sorted((root / "slice").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
