"""The wheel carries the templates, and the code installed from it renders from those copies; a lean
install (no extras) has none of the slice runtime, Modal or PostgreSQL, and still builds a slice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import EXAMPLES, REPO, commit, user_env

# What only an extra brings. (uvicorn, httpx and starlette come with Dagster's
# webserver anyway.)
EXTRAS_ONLY = ("modal", "fastapi", "dagster_postgres", "psycopg2", "dagster_docker", "dagster_k8s", "kubernetes")


def build_wheel(directory: Path) -> Path:
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(directory)],
                   cwd=REPO, check=True, capture_output=True)
    [wheel] = directory.glob("*.whl")
    return wheel


def test_wheel_ships_templates_and_finds_them(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "templates").rglob("*.j2"))
    assert templates and all(f"vso_dagster/{t}" in names for t in templates)
    assert "vso_dagster/definitions.py" in names

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = ("import vso_dagster.core.base.templating as t; print(t.templates_dir()); "
             "print(t.render('project/terraform.tfvars.j2', environment='test', server_type='cx23'))")
    out = subprocess.run([sys.executable, "-c", probe], env={"PYTHONPATH": str(unpacked)}, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == str(unpacked / "vso_dagster" / "templates")
    assert 'server_type = "cx23"' in out


def test_a_lean_install_has_no_extra_and_builds_a_slice_in_an_environment_of_its_own(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    lean = tmp_path / "lean"
    subprocess.run([sys.executable, "-m", "venv", str(lean)], check=True)
    installed = subprocess.run([str(lean / "bin/python"), "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", str(wheel)], capture_output=True, text=True,
                               timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    probe = f"import importlib.util as u; print([m for m in {EXTRAS_ONLY!r} if u.find_spec(m)])"
    assert subprocess.run([str(lean / "bin/python"), "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"

    root = tmp_path / "proj"
    env = user_env() | {"PATH": f"{lean / 'bin'}{os.pathsep}{os.environ['PATH']}"}

    def vso(*args: str, expect: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([str(lean / "bin/vso"), *args], cwd=root, env=env, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == expect, (args, done.stdout[-2000:], done.stderr[-3000:])
        return done

    root.mkdir()
    vso("init")
    (root / "master-spec.md").write_text((EXAMPLES / "todo-small.md").read_text())
    vso("decompose")
    commit(root, "slices")
    vso("orchestrate", "--slice-id", "slice-001-auth")
    state = json.loads((root / ".slice-orchestrator/state.json").read_text())
    assert state["slices"]["slice-001-auth"]["status"] == "implemented"
    # Its FastAPI service was tested in a virtualenv of its own requirements, which VSO built.
    [built] = (root / ".slice-orchestrator/cache/slice-envs").iterdir()
    assert subprocess.run([str(built / "bin/python"), "-c", "import fastapi, uvicorn"]).returncode == 0
    # A dagster.yaml that names a container launcher says which extra brings it.
    config = root / ".slice-orchestrator/dagster/dagster.yaml"
    config.write_text(config.read_text() + "run_launcher: {module: dagster_docker, class: DockerRunLauncher}\n")
    refused = vso("orchestrate", "--slice-id", "slice-002-todos", expect=2)
    assert refused.stderr.strip() == (".slice-orchestrator/dagster/dagster.yaml: run_launcher: cannot import "
                                      "dagster_docker: pip install 'vso-dagster[docker]'")
