"""The wheel carries the templates, and the code installed from it renders from those copies."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from .conftest import REPO


def test_wheel_ships_templates_and_finds_them(tmp_path):
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist")],
                   cwd=REPO, check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("*.whl")
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
