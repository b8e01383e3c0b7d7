"""Each slice runs in an environment of its own requirements: a dependency an agent adds to the
slice's requirements.txt is installed (by real pip, from a local wheel: no network) for the slice's
unit tests and its local service, and the environment is recorded with the tested commit."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

from vso_dagster.core.base.slice_environment import slice_environment
from vso_dagster.core.base.state import load_state

from .conftest import commit

AUTH = "slice-001-auth"


def make_wheel(folder: Path, name: str, version: str, code: str, entry_points: str = "") -> Path:
    """A pure-Python wheel of one module, built by hand (no build backend, no index)."""
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": code,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: vso-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    if entry_points:
        files[f"{info}/entry_points.txt"] = entry_points

    def digest(text: str) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()

    files[f"{info}/RECORD"] = "".join(f"{path},sha256={digest(text)},{len(text.encode())}\n"
                                      for path, text in files.items()) + f"{info}/RECORD,,\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def needs_slugmaker(slice_dir: Path, wheels: Path, requirement: str = "slugmaker==1.0") -> None:
    """What an agent does: the service imports a package, and the slice's requirements name it."""
    service = slice_dir / "service" / "main.py"
    service.write_text(service.read_text() + "\nimport slugmaker  # noqa: E402\n")
    requirements = slice_dir / "service" / "requirements.txt"
    requirements.write_text(requirements.read_text() + f"--no-index\n--find-links {wheels}\n{requirement}\n")


def test_a_dependency_an_agent_adds_is_there_for_the_slices_tests_and_its_service_and_a_bad_one_is_refused(
        committed, vso, tmp_path):
    assert vso("orchestrate", "--slice-id", AUTH).exit_code == 0
    worktree = committed.state_dir / "worktrees" / AUTH
    slice_dir = worktree / "vertical-slices" / AUTH
    good = load_state(committed)["slices"][AUTH]
    assert good["tested_environment"]  # the generated requirements: VSO's own interpreter

    # A requirement pip cannot meet: the slice's tests cannot run, and `vso test` says why.
    needs_slugmaker(slice_dir, tmp_path / "wheels", "slugmaker==1.0")
    commit(worktree, "use slugmaker, not published yet")
    refused = vso("test", "--slice-id", AUTH, "--json")
    said = refused.output + (refused.stderr or "")
    assert refused.exit_code == 1 and "Traceback" not in said
    assert ("worktrees/slice-001-auth/vertical-slices/slice-001-auth/service/requirements.txt: pip could not "
            "install the slice's requirements") in said and "slugmaker==1.0" in said, said
    assert load_state(committed)["slices"][AUTH]["tested_commit"] == good["tested_commit"]  # the last good stays
    envs = committed.state_dir / "cache" / "slice-envs"
    assert not list(envs.iterdir())  # nothing half-built left to be used

    # Published now (a wheel in the folder the requirements name): installed, the tests are green.
    make_wheel(tmp_path / "wheels", "slugmaker", "1.0", "def slug(text):\n    return text.lower().replace(' ', '-')\n")
    tested = vso("test", "--slice-id", AUTH)
    assert tested.exit_code == 0, tested.output
    entry = load_state(committed)["slices"][AUTH]
    assert entry["tested_commit"] != good["tested_commit"]
    assert entry["tested_environment"] != good["tested_environment"]  # recorded with the tested commit
    assert [p.name for p in envs.iterdir()] == [entry["tested_environment"][:16]]  # one environment, complete
    assert not list(Path(sys.prefix).glob("lib/python*/site-packages/slugmaker"))  # never into VSO's own
    try:
        deployed = vso("deploy", "--slice-id", AUTH, "--environment", "test")
        assert deployed.exit_code == 0, deployed.output  # uvicorn imported the service, slugmaker and all
    finally:
        vso("destroy", "--slice-id", AUTH, "--environment", "test")


def test_slices_with_the_same_requirements_share_one_environment_and_a_change_gets_another(committed, tmp_path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "slugmaker", "1.0", "VERSION = '1.0'\n")
    make_wheel(wheels, "slugmaker", "2.0", "VERSION = '2.0'\n")
    generated = slice_environment(committed, committed.slice_dir(AUTH))
    assert generated.python == sys.executable and not generated.own  # nothing to build

    first, second = committed.slice_dir(AUTH), committed.slice_dir("slice-002-todos")
    for slice_dir in (first, second):
        needs_slugmaker(slice_dir, wheels)
    one, two = slice_environment(committed, first), slice_environment(committed, second)
    assert one == two and one.own and one.python != sys.executable
    def version(python: str) -> str:
        return subprocess.run([python, "-c", "import slugmaker, fastapi, pytest; print(slugmaker.VERSION)"],
                              capture_output=True, text=True, check=True).stdout.strip()

    assert version(one.python) == "1.0"  # and VSO's own packages (FastAPI, pytest) beside it
    requirements = second / "service" / "requirements.txt"
    requirements.write_text(requirements.read_text().replace("slugmaker==1.0", "slugmaker==2.0"))
    changed = slice_environment(committed, second)
    assert changed.digest != one.digest and version(changed.python) == "2.0" and version(one.python) == "1.0"


def test_a_slices_tests_get_the_pytest_plugins_its_requirements_bring_and_none_of_vsos_own(committed, vso, tmp_path):
    """pytest loads every plugin installed where it runs. A slice's tests get the ones its requirements
    bring (a fixture package here), not the test tools installed beside VSO (hypothesis, xdist)."""
    assert vso("orchestrate", "--slice-id", AUTH).exit_code == 0
    worktree = committed.state_dir / "worktrees" / AUTH
    slice_dir = worktree / "vertical-slices" / AUTH
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "slicefixtures", "1.0", "import pytest\n\n\n@pytest.fixture\ndef greeting():\n"
               "    return 'hello'\n", entry_points="[pytest11]\nslicefixtures = slicefixtures\n")
    requirements = slice_dir / "service" / "requirements.txt"
    requirements.write_text(requirements.read_text() + f"--no-index\n--find-links {wheels}\nslicefixtures==1.0\n")
    (slice_dir / "tests/unit/test_plugins.py").write_text(
        "def test_the_slices_plugin_is_there(greeting):\n    assert greeting == 'hello'\n\n\n"
        "def test_vsos_test_tools_are_not(pytestconfig):\n"
        "    loaded = {name for name, plugin in pytestconfig.pluginmanager.list_name_plugin() if plugin}\n"
        "    assert not loaded & {'hypothesispytest', 'xdist', 'libtmux'}, loaded\n")
    commit(worktree, "tests that use the slice's own pytest plugin")
    assert {"hypothesispytest", "xdist"} <= {ep.name for ep in entry_points(group="pytest11")}  # VSO's are there

    tested = vso("test", "--slice-id", AUTH)
    assert tested.exit_code == 0, tested.output
    assert load_state(committed)["slices"][AUTH]["tested_commit"] == subprocess.run(
        ["git", "-C", str(worktree), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
