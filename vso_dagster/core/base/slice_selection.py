"""Which slices `vso status` shows, and in what order, for projects of ten slices or ten thousand:
slices in the order of their numbers (slice-1000 after slice-999, which text order gets wrong), a
filter by status, platform and name, and a one-line summary of the whole project."""

from __future__ import annotations

import difflib
import fnmatch
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import VSOError
from .names import SLICE_NUMBER, short_name
from .state import SliceStatus

STATUSES = tuple(status.value for status in SliceStatus)


def id_order(slice_id: str) -> tuple[int, str]:
    """An ID without a number (not one VSO gave) goes last, in text order."""
    found = SLICE_NUMBER.match(slice_id)
    return (int(found.group(1)) if found else 1 << 62, slice_id)


def in_id_order(slice_ids: Iterable[str]) -> list[str]:
    return sorted(slice_ids, key=id_order)


@dataclass(frozen=True)
class SliceFilter:
    """Each given part must hold. A pattern with a wildcard (`*`, `?`, `[`) is a glob on the slice ID or
    the component's name; a plain one is found anywhere in either. Case is ignored."""

    statuses: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    pattern: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.statuses or self.platforms or self.pattern)

    def matches(self, slice_id: str, entry: dict) -> bool:
        if self.statuses and entry.get("status") not in self.statuses:
            return False
        if self.platforms and entry.get("platform") not in self.platforms:
            return False
        return self.pattern is None or any(self._names(text) for text in (slice_id, entry.get("component", "")))

    def _names(self, text: str) -> bool:
        pattern, text = self.pattern.lower(), text.lower()
        if any(mark in pattern for mark in "*?["):
            return fnmatch.fnmatchcase(text, pattern)
        return pattern in text

    def select(self, slices: dict[str, dict]) -> list[str]:
        return in_id_order(sid for sid, entry in slices.items() if self.matches(sid, entry))


def summary(slices: dict[str, dict], shown: int, conflicts: int) -> str:
    """`3 of 10,000 slices shown · 9,996 draft, 4 implemented · 1 conflict`: the whole project's counts,
    statuses in the order a slice moves through them."""
    counts = Counter(entry.get("status", "") for entry in slices.values())
    known = [f"{counts.pop(status):,} {status}" for status in STATUSES if status in counts]
    known += [f"{n:,} {status or 'without status'}" for status, n in sorted(counts.items())]
    whole = f"{len(slices):,} slice{'s' if len(slices) != 1 else ''}"
    head = whole if shown == len(slices) else f"{shown:,} of {whole} shown"
    parts = [head, ", ".join(known)] + ([f"{conflicts} conflict{'s' if conflicts != 1 else ''}"] if conflicts else [])
    return " · ".join(p for p in parts if p)


def resolve_slice_id(known: Iterable[str], given: str) -> str:
    """A slice named as a person would: its whole ID (`slice-001-auth`), the name after its number
    (`auth`), or its number (`1`, `001`). A miss, or a name that fits several, is refused with the
    IDs it could have meant."""
    ids = in_id_order(known)
    if given in ids:
        return given
    wanted = given.lower()
    fits = [sid for sid in ids if short_name(sid) == wanted or _number(sid) == wanted.lstrip("0")]
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise VSOError(f"{given}: could be {', '.join(fits)}; give the whole slice ID")
    close = difflib.get_close_matches(wanted, ids + [short_name(sid) for sid in ids], n=3, cutoff=0.6)
    meant = list(dict.fromkeys(next(sid for sid in ids if close_one in (sid, short_name(sid))) for close_one in close))
    hint = f"; did you mean {' or '.join(meant)}?" if meant else "; `vso status` lists them"
    raise VSOError(f"{given}: no such slice{hint}")


def _number(slice_id: str) -> str | None:
    found = SLICE_NUMBER.match(slice_id)
    return (found.group(1).lstrip("0") or "0") if found else None
