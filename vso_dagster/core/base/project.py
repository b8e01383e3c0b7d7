"""The managed project's layout, and the only way VSO writes into it: atomically, inside the root."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import Diagnostic, VSOError

MASTER_SPEC = "master-spec.md"
SLICES_DIR = "vertical-slices"
STATE_DIR = ".slice-orchestrator"
# Beside a slice file whose edit and the master's change overlap: the merge, waiting for `vso resolve`.
PROPOSAL_SUFFIX = ".proposed"
# Where, in a slice's directory, its implementation lives: a service's, or a worker's job.
SERVICE_FILE = "service/main.py"
JOB_FILE = "worker/job.py"
# Scaffolding: written while nobody has changed it, then owned by whoever did (the slice's
# implementation, merged home from its branch). A master change never merges into it.
SEED_FILES = (SERVICE_FILE, JOB_FILE)
# A text file a person edits (a slice's spec.md, a Terraform file) is read whole; past this it is refused.
MAX_TEXT_BYTES = 5 * 1024 * 1024
# Files VSO writes get the mode a plain open() would give them (mkstemp alone would give 0600).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class OutsideProjectError(VSOError):
    """A path resolved outside the project root: refused before anything is written."""


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> Project:
        return cls(Path(root).resolve())

    @classmethod
    def find(cls, start: str | os.PathLike[str]) -> Project | None:
        """The project `start` is in, looking upward as git does: the nearest directory (itself
        included) that holds `.slice-orchestrator/` or `master-spec.md`; None when there is none."""
        here = Path(start).resolve()
        for directory in (here, *here.parents):
            if cls(directory).exists():
                return cls(directory)
        return None

    def exists(self) -> bool:
        return self.state_dir.is_dir() or self.master_spec.is_file()

    def require(self) -> Project:
        if not self.exists():
            raise VSOError(f"{self.root}: not a VSO project (no {MASTER_SPEC} or {STATE_DIR}/ here or in any "
                           f"parent directory); run `vso init` to make one, or give --project-root DIR")
        return self

    @property
    def master_spec(self) -> Path:
        return self.root / MASTER_SPEC

    @property
    def slices_dir(self) -> Path:
        return self.root / SLICES_DIR

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def plan_file(self) -> Path:
        return self.state_dir / "plan.json"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def dagster_home(self) -> Path:
        return self.state_dir / "dagster"

    def slice_dir(self, slice_id: str) -> Path:
        return self.inside(self.slices_dir / slice_id)

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def inside(self, path: Path) -> Path:
        """`path`, after checking that it (and every symlink on the way) stays inside the root."""
        resolved = os.path.realpath(path)
        root = str(self.root)
        if resolved != root and not resolved.startswith(root + os.sep):
            raise OutsideProjectError(Diagnostic(str(path), None, f"resolves to {resolved}, outside the project "
                                                                  f"root {self.root}; refusing to write there"))
        return path

    def write(self, path: Path, data: str | bytes) -> None:
        self.make_dir(path.parent)
        atomic_write(path, data)

    def make_dir(self, path: Path) -> Path:
        """mkdir -p, after checking the path: a symlinked ancestor must not lead mkdir outside."""
        self.inside(path).mkdir(parents=True, exist_ok=True)
        return path

    def make_cache_dir(self, *parts: str) -> Path:
        """A directory in VSO's cache."""
        return self._make_ignored(self.cache_dir, "project/cache-gitignore.j2", parts)

    def make_data_dir(self, *parts: str) -> Path:
        """A directory of the slices' own data on this machine (local databases)."""
        return self._make_ignored(self.data_dir, "project/data-gitignore.j2", parts)

    def _make_ignored(self, top: Path, ignore_template: str, parts: tuple[str, ...]) -> Path:
        """A directory under `top`, which ignores itself in git (its own .gitignore): nothing in it is
        ever committed, in a project of any age."""
        ignore = top / ".gitignore"
        if not ignore.exists():
            from .templating import render  # Jinja loads only here: a git hook imports this module

            self.write(ignore, render(ignore_template))
        return self.make_dir(top.joinpath(*parts))

    def open_append(self, path: Path) -> BinaryIO:
        """A file VSO appends to (a lock, a log), opened without following a symlink: a dangling
        one planted there would have the file created wherever it points."""
        self.inside(self.make_dir(path.parent))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise OutsideProjectError(Diagnostic(self.relative(path), None, "is a symlink; VSO writes this file "
                                                                            "itself: remove the link")) from None
        return os.fdopen(fd, "ab")

    @contextmanager
    def lock(self, name: str = "state") -> Iterator[None]:
        """Serializes read-modify-write of state.json (or, by name, another piece of work, such as
        `vso sync`) between concurrent processes."""
        with self.open_append(self.state_dir / f"{name}.lock") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class BatchWriter:
    """Writes many files into the project, checking and creating each directory once per batch."""

    def __init__(self, project: Project):
        self.project = project
        self._ready: set[Path] = set()

    def write(self, path: Path, data: str | bytes) -> None:
        parent = path.parent
        if parent not in self._ready:
            self._ready.add(self.project.make_dir(parent))
        atomic_write(path, data)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Temp file in the same directory, then rename: a reader sees the old file or the new one.
    Renaming also replaces a symlink at `path` instead of writing through it. The directory must
    exist (Project.make_dir checks it first)."""
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".vso-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path, root: Path | None = None) -> str | None:
    data = read_file(path, root)
    return None if data is None else sha256_bytes(data)


def read_file(path: Path, root: Path | None = None) -> bytes | None:
    """A file a person may have replaced with anything: None when it is missing, refused when it is
    a directory, a FIFO (reading one would wait for ever) or a device. Errors name it from `root`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise VSOError(Diagnostic(_shown(path, root), None, f"is {kind}; VSO reads and writes a file here: "
                                                            "move it aside, then run the command again"))
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def read_text(path: Path, root: Path | None = None) -> str | None:
    """A text file a person may have edited, as read_file finds it, decoded by decode_text."""
    data = read_file(path, root)
    if data is None:
        return None
    if len(data) > MAX_TEXT_BYTES:
        raise VSOError(Diagnostic(_shown(path, root), 1, f"the file is {len(data) / 1024 / 1024:.1f} MiB; VSO "
                                                         f"reads at most {MAX_TEXT_BYTES // 1024 // 1024} MiB "
                                                         "here: shorten it"))
    return decode_text(data, _shown(path, root))


def decode_text(data: bytes, shown: str) -> str:
    """UTF-8 without NUL bytes (what the Markdown parser and git's text diffs expect), and the
    line of the first bad byte when it is not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise VSOError(Diagnostic(shown, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file "
                                               "as UTF-8")) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise VSOError(Diagnostic(shown, line, "the file holds a NUL byte; remove it"))
    return text


def _shown(path: Path, root: Path | None) -> str:
    return os.path.relpath(path, root) if root else str(path)
