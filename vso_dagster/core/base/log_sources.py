"""What `vso logs` reads and follows: named sources of text that grow (a file, a live tmux pane),
each read whole and shown from where it was last shown."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LogSource:
    name: str  # a role ("developer"), or what deployed ("test service", "deployment")
    read: Callable[[], str | None]  # the whole text now; None once it is gone (a closed session)


def file_source(name: str, path: Path, keep: Callable[[str], bool] = lambda line: True) -> LogSource:
    """A log file, with only the lines `keep` accepts; a file not there yet reads as empty."""
    def read() -> str:
        try:
            text = path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "".join(line for line in text.splitlines(keepends=True) if keep(line))

    return LogSource(name, read)


def lines_of(text: str) -> list[str]:
    """A pane's capture ends in the blank rows of its screen: they are not lines yet."""
    return text.rstrip("\n").split("\n") if text.strip() else []


def follow(sources: Sequence[LogSource], emit: Callable[[str, str], None], poll_s: float = 0.5,
           stop: Callable[[], bool] = lambda: False) -> None:
    """Emits (source, line) for each line each source gains, until every source is gone or `stop()`.
    A line a full-screen program rewrites in place is shown as first seen: what scrolls on is new."""
    shown = {source.name: len(lines_of(source.read() or "")) for source in sources}
    live = list(sources)
    while live and not stop():
        time.sleep(poll_s)
        for source in list(live):
            text = source.read()
            if text is None:
                emit(source.name, f"({source.name} ended)")
                live.remove(source)
                continue
            lines = lines_of(text)
            for line in lines[shown[source.name]:]:
                emit(source.name, line)
            shown[source.name] = max(shown[source.name], len(lines))
