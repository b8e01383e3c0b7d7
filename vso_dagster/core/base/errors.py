"""User-facing errors: every one carries the file and line so the CLI can print `file:line: message`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class VSOError(Exception):
    """A mistake the user can fix. The CLI prints it without a traceback and exits 2."""

    def __init__(self, problems: list[Diagnostic] | Diagnostic | str):
        if isinstance(problems, Diagnostic):
            problems = [problems]
        self.diagnostics = [] if isinstance(problems, str) else problems
        super().__init__(problems if isinstance(problems, str) else "\n".join(map(str, problems)))


class Blocked(VSOError):
    """A slice that cannot be built yet: the slices it waits on are not built."""

    def __init__(self, slice_id: str, waiting: list[str]):
        self.waiting = waiting
        super().__init__(f"{slice_id}: blocked by: {', '.join(waiting)}; implement those slices first")


class SpecError(VSOError):
    """The master spec cannot be decomposed as written."""


def fail(path: str, line: int | None, message: str) -> SpecError:
    return SpecError(Diagnostic(path, line, message))
