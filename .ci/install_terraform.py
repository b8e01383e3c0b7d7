"""Installs Terraform from HashiCorp's release archive when a CI machine lacks it.

The tests run the real `terraform` binary (offline, on terraform_data), so CI needs one on PATH.
Usage: python3 .ci/install_terraform.py [VERSION] -> prints the directory it installed into.
TERRAFORM_MIRROR names another place laid out as HashiCorp's (VERSION/terraform_VERSION_linux_ARCH.zip).
"""

import io
import os
import platform
import sys
import urllib.request
import zipfile
from pathlib import Path

VERSION = sys.argv[1] if len(sys.argv) > 1 else "1.11.4"
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
MIRROR = os.environ.get("TERRAFORM_MIRROR") or "https://releases.hashicorp.com/terraform"
URL = f"{MIRROR.rstrip('/')}/{VERSION}/terraform_{VERSION}_linux_{ARCH}.zip"

target = Path("/usr/local/bin") if os.access("/usr/local/bin", os.W_OK) else Path.home() / ".local/bin"
target.mkdir(parents=True, exist_ok=True)
with urllib.request.urlopen(URL, timeout=120) as answer:
    archive = zipfile.ZipFile(io.BytesIO(answer.read()))
binary = target / "terraform"
binary.write_bytes(archive.read("terraform"))
binary.chmod(0o755)
print(target)
