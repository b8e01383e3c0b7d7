"""Each slice's code runs with the Python packages its own requirements name.

A slice's unit tests, its local service and its job run in an interpreter that has what the slice's
`service/requirements.txt` (a worker's `worker/requirements.txt`) asks for, so an agent that adds a
dependency there gets it. When VSO's own environment already satisfies every requirement (as it does
the generated ones: FastAPI, uvicorn), that is VSO's own interpreter and nothing is built. Otherwise
VSO builds a virtualenv on top of its own (system site packages: the test tools are there, and only
what is missing is installed: a `.pth` file puts VSO's own site-packages after the slice's, since
a virtualenv made from within one would see only the base interpreter's) in
`.slice-orchestrator/cache/slice-envs/<hash>/`, keyed by the hash of
the requirements and of the interpreter: slices with the same requirements share one, and a changed
requirement gets a new one. It is built in a directory of its own and renamed into place once pip
succeeds, so a failed or interrupted install never leaves a half-built environment in use.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .errors import Diagnostic, VSOError
from .project import Project
from .secrets import slice_env

REQUIREMENTS = ("service/requirements.txt", "worker/requirements.txt")
PIP_TIMEOUT_S = 900.0
# What pip gets of VSO's environment besides a slice's allow-list: where packages come from.
PIP_SETTINGS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST")


@dataclass(frozen=True)
class SliceEnvironment:
    python: str  # the interpreter the slice's code runs with
    digest: str  # what it was built from (the interpreter and the requirements), recorded with a tested commit
    own: bool  # a virtualenv of the slice's own requirements; False: VSO's own interpreter
    # pytest plugins installed beside the slice's packages but not brought by its requirements:
    # VSO's own test tools, say. The slice's tests run without them (`-p no:NAME`), as they would
    # in an environment of the slice's requirements alone, and start faster.
    foreign_plugins: tuple[str, ...] = ()

    @property
    def pytest(self) -> tuple[str, ...]:
        """The command that runs pytest on the slice's tests, in this environment."""
        return (self.python, "-m", "pytest", *(arg for name in self.foreign_plugins for arg in ("-p", f"no:{name}")))


def requirement_lines(slice_dir: Path) -> tuple[Path | None, list[str]]:
    """The slice's requirements file and its lines that say something (no comments, no blanks)."""
    for name in REQUIREMENTS:
        path = slice_dir / name
        if path.is_file():
            lines = [line.split(" #")[0].strip() for line in path.read_text(errors="replace").splitlines()]
            return path, [line for line in lines if line and not line.startswith("#")]
    return None, []


def slice_environment(project: Project, slice_dir: Path) -> SliceEnvironment:
    """The slice's environment, built first when its requirements need one and it is not there yet."""
    path, lines = requirement_lines(slice_dir)
    digest = hashlib.sha256("\n".join([sys.executable, sys.version, *sorted(lines)]).encode()).hexdigest()
    if all(_satisfied(line) for line in lines):
        return SliceEnvironment(sys.executable, digest, False, foreign_plugins(lines, sys.path))
    home = project.make_cache_dir("slice-envs") / digest[:16]
    python = home / "bin" / "python"
    if not python.exists():
        with project.lock(f"slice-env-{digest[:16]}"):  # one build per environment, however many slices wait
            if not python.exists():
                _build(project, home, path)
    own_site = sysconfig.get_path("purelib", vars={"base": str(home), "platbase": str(home)})
    return SliceEnvironment(str(python), digest, True, foreign_plugins(lines, [own_site, *sys.path]))


def foreign_plugins(lines: list[str], path: list[str]) -> tuple[str, ...]:
    """The pytest plugins installed on `path` that neither the requirements nor what they require
    (and so on) bring: pytest would load every installed one into the slice's tests."""
    installed = {ep.name for dist in metadata.distributions(path=path) for ep in dist.entry_points
                 if ep.group == "pytest11"}
    return tuple(sorted(installed - _plugins_brought(lines, path)))


def _plugins_brought(lines: list[str], path: list[str]) -> set[str]:
    todo, seen, plugins = [_requirement(line) for line in lines], set(), set()
    while todo:
        requirement = todo.pop()
        if requirement is None or (key := (canonicalize_name(requirement.name), *sorted(requirement.extras))) in seen:
            continue
        seen.add(key)
        found = next(iter(metadata.distributions(name=requirement.name, path=path)), None)
        if found is None:
            continue
        plugins |= {ep.name for ep in found.entry_points if ep.group == "pytest11"}
        for line in found.requires or []:
            needed = _requirement(line)
            extras = requirement.extras or {""}
            if needed and (needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras)):
                todo.append(needed)
    return plugins


def _requirement(line: str) -> Requirement | None:
    try:
        return Requirement(line)
    except InvalidRequirement:
        return None  # an option line (-r, --find-links) or a URL: it names no distribution here


def _satisfied(line: str) -> bool:
    """The requirement is met by VSO's own environment (an option or a URL never is)."""
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return False
    if requirement.marker is not None and not requirement.marker.evaluate():
        return True  # not for this platform
    if requirement.url:
        return False
    try:
        return requirement.specifier.contains(metadata.version(requirement.name), prereleases=True)
    except metadata.PackageNotFoundError:
        return False


def _build(project: Project, home: Path, requirements: Path) -> None:
    building = home.with_name(f"{home.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    venv.EnvBuilder(symlinks=True).create(building)
    python = building / "bin" / "python"
    own_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    # As a site dir, so the .pth files there (an editable install's) hold as they do for VSO.
    (own_site / "_vso_base.pth").write_text("".join(f"import site; site.addsitedir({path!r})\n"
                                                    for path in site.getsitepackages()))
    # VSO's own pip installs into it (--python): no pip of its own to bootstrap first. The
    # requirements file is read where it is, so its relative paths (-r, --find-links) hold.
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                           "--disable-pip-version-check", "--no-input", "-r", requirements.name],
                          cwd=requirements.parent, capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
                          env=slice_env(PIP_SETTINGS, PIP_CACHE_DIR=str(project.make_cache_dir("pip"))))
    if done.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        said = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise VSOError(Diagnostic(project.relative(requirements), None,
                                  f"pip could not install the slice's requirements ({' | '.join(said[-3:])[-400:]}); "
                                  f"fix the requirement, or make its package reachable ({', '.join(PIP_SETTINGS)})"))
    os.replace(building, home)
