"""Names taken from a spec become directory names, branch names and Python identifiers, so they are
checked here once, strictly, and everything downstream can trust them."""

from __future__ import annotations

import functools
import re

# Letters, digits, spaces, '-' and '_' only: nothing that can escape a directory ('/', '..', NUL)
# or mean something to a shell (`$;&|<>()'"` and friends).
COMPONENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 _-]{0,62}")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Words that name the kind of thing rather than the thing ("User Service" serves /users).
GENERIC_SUFFIXES = ("service", "services", "api", "manager", "module", "engine", "system", "server", "svc")
# The number VSO gives a slice, at the start of its ID (`slice-001-auth`).
SLICE_NUMBER = re.compile(r"slice-(\d+)")


def component_name_problem(name: str) -> str | None:
    """Why `name` cannot be a component name, or None if it can."""
    if not name:
        return "the component name is empty"
    if COMPONENT_NAME.fullmatch(name):
        return None
    bad = sorted({c for c in name if not re.fullmatch(r"[A-Za-z0-9 _-]", c)})
    shown = ", ".join(repr(c) for c in bad) if bad else "its first character"
    if len(name) > 63:
        return f"component name {name[:40]!r}… is longer than 63 characters; shorten it"
    return (
        f"component name {name!r} may only hold letters, digits, spaces, '-' and '_' and must start "
        f"with a letter (found {shown}); rename it"
    )


def slugify(name: str) -> str:
    """'User Service' -> 'user-service'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@functools.lru_cache(maxsize=65536)
def match_key(text: str) -> str:
    """Case, '-', '_', space and plural insensitive form used to match names across the spec."""
    word = re.sub(r"[\s_-]+", "", text.lower())
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def component_keys(name: str) -> set[str]:
    """Keys that refer to a component: its whole name, and its name without a generic suffix."""
    keys = {match_key(name)}
    words = re.split(r"[\s_-]+", name.strip())
    if len(words) > 1 and words[-1].lower() in GENERIC_SUFFIXES:
        keys.add(match_key(" ".join(words[:-1])))
    return keys


def python_identifier(slug: str) -> str:
    return slug.replace("-", "_")


def modal_app_name(slice_id: str) -> str:
    """The Modal app a slice deploys as: generated into modal/app.py, and what `modal app stop` stops."""
    return f"vso-{slice_id}"


def short_name(slice_id: str) -> str:
    """`auth` of `slice-001-auth`: the component's part of the ID."""
    found = SLICE_NUMBER.match(slice_id)
    return slice_id[found.end() + 1:] if found else slice_id


def dependency_variable(slice_id: str) -> str:
    """The environment variable that gives a slice the URL of a slice it calls ('slice-001-auth' ->
    VSO_DEP_AUTH_URL): set by each deploy, read by the service, in every environment alike."""
    return f"VSO_DEP_{python_identifier(short_name(slice_id)).upper()}_URL"
