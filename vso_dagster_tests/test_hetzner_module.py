"""The Hetzner module VSO generates, run by the real terraform against the hcloud stand-in provider
(standin_hcloud_provider.py: the real provider's schema, a stand-in cloud): it validates, scales out
behind a load balancer and back, keeps a server made before server_count existed, and keeps a slice's data
volume when a redeploy replaces its server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO, decompose_example

STANDIN_PYTHON = REPO / ".standins/bin/python"  # `make standins`: the stand-in provider's own virtualenv
STANDIN_VERSION = "1.48.0"  # what the generated module's "~> 1.48" accepts
TOKEN = "t" * 64  # Hetzner's tokens are 64 characters; the stand-in refuses others, as the provider does
STATELESS, OWNS_DATA = "slice-004-search", "slice-007-orders"  # in examples/marketplace.md

pytestmark = pytest.mark.skipif(not STANDIN_PYTHON.exists(),
                                reason="the hcloud stand-in provider is not installed: run `make standins`")


@pytest.fixture(scope="module")
def plugins(tmp_path_factory) -> Path:
    """A plugin directory holding the stand-in as hetznercloud/hcloud, the way `terraform init -plugin-dir`
    finds an unpacked provider."""
    root = tmp_path_factory.mktemp("plugins")
    where = root / f"registry.terraform.io/hetznercloud/hcloud/{STANDIN_VERSION}/linux_amd64"
    where.mkdir(parents=True)
    executable = where / f"terraform-provider-hcloud_v{STANDIN_VERSION}"
    executable.write_text(f'#!/bin/sh\nexec "{STANDIN_PYTHON}" "{REPO}/vso_dagster_tests/standin_hcloud_provider.py" '
                          '"$@"\n')
    executable.chmod(0o755)
    return root


@pytest.fixture(scope="module")
def marketplace(tmp_path_factory) -> Path:
    project, _ = decompose_example(tmp_path_factory.mktemp("generated"), "marketplace")
    return project.root / "vertical-slices"


class Module:
    """One slice's generated terraform/ in a directory of its own, initialised with the stand-in."""

    def __init__(self, source: Path, where: Path, plugins: Path):
        shutil.copytree(source, where)
        self.where, self.cloud_file = where, where.parent / f"{where.name}-cloud.json"
        self.env = {**os.environ, "HCLOUD_STANDIN_CLOUD": str(self.cloud_file), "TF_IN_AUTOMATION": "1",
                    "TF_CLI_CONFIG_FILE": os.devnull}
        self.terraform("init", "-backend=false", "-input=false", f"-plugin-dir={plugins}")

    def terraform(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(["terraform", *args, "-no-color"], cwd=self.where, env=self.env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0 or not check, done.stdout[-3000:] + done.stderr[-3000:]
        return done

    def apply(self, *variables: str, token: str = TOKEN, check: bool = True) -> subprocess.CompletedProcess:
        args = [f"hcloud_token={token}", "repo_url=file:///srv/project.git", "git_ref=0123abc", *variables]
        return self.terraform("apply", "-auto-approve", "-input=false", *(a for v in args for a in ("-var", v)),
                              check=check)

    def destroy(self) -> None:
        self.terraform("destroy", "-auto-approve", "-var", f"hcloud_token={TOKEN}")

    def output(self, name: str) -> str:
        return json.loads(self.terraform("output", "-json").stdout)[name]["value"]

    def cloud(self) -> dict:
        return json.loads(self.cloud_file.read_text()) if self.cloud_file.exists() else {"resources": {}, "log": []}

    def held(self, kind: str) -> dict[str, dict]:
        """The resources of a kind the stand-in cloud holds now, by id."""
        return {key.split("/")[1]: state for key, state in self.cloud()["resources"].items()
                if key.split("/")[0] == kind}

    def done_since(self, mark: int) -> list[tuple[str, str, str]]:
        """What the cloud was asked to do since its log had mark entries: (op, kind, id)."""
        return [(e["op"], e["type"], e["id"]) for e in self.cloud()["log"][mark:]]


def test_both_kinds_of_module_validate_against_the_providers_schema_and_a_wrong_argument_does_not(
        marketplace, plugins, tmp_path):
    for slice_id in (STATELESS, OWNS_DATA):
        module = Module(marketplace / slice_id / "terraform", tmp_path / slice_id, plugins)
        assert "The configuration is valid" in module.terraform("validate").stdout
    # The schema is what Terraform checks against: an argument hcloud_server does not have is refused.
    main = module.where / "main.tf"
    main.write_text(main.read_text().replace("server_type  = var.server_type", "server_kind  = var.server_type"))
    refused = module.terraform("validate", check=False)
    assert refused.returncode == 1 and 'An argument named "server_kind" is not expected here' in refused.stderr


def test_server_count_scales_out_behind_a_load_balancer_and_back_keeping_the_first_server(
        marketplace, plugins, tmp_path):
    module = Module(marketplace / STATELESS / "terraform", tmp_path / "module", plugins)
    refused = module.apply(token="too-short", check=False)
    assert refused.returncode == 1 and "must be exactly 64 characters long" in refused.stderr
    assert module.cloud()["resources"] == {}
    module.apply()
    (first_id, first), = module.held("hcloud_server").items()
    assert module.output("endpoint_url") == f"http://{first['ipv4_address']}:8000"
    assert first["name"] == f"{STATELESS}-test" and not module.held("hcloud_load_balancer")

    # State written before server_count had one server, not a list of them: it stays, as the first.
    module.terraform("state", "mv", "hcloud_server.slice[0]", "hcloud_server.slice")
    mark = len(module.cloud()["log"])
    module.apply()
    assert module.done_since(mark) == [] and "hcloud_server.slice[0]" in module.terraform("state", "list").stdout

    mark = len(module.cloud()["log"])
    module.apply("server_count=3")
    servers, (lb_id, balancer), = module.held("hcloud_server"), *module.held("hcloud_load_balancer").items()
    assert len(servers) == 3 and first_id in servers
    assert ("delete", "hcloud_server", first_id) not in module.done_since(mark)
    assert sorted(s["name"] for s in servers.values()) == [f"{STATELESS}-test-{n}" for n in (1, 2, 3)]
    targets = module.held("hcloud_load_balancer_target").values()
    assert sorted(t["server_id"] for t in targets) == sorted(int(i) for i in servers)
    assert {t["load_balancer_id"] for t in targets} == {int(lb_id)}
    (service,) = module.held("hcloud_load_balancer_service").values()
    assert (service["listen_port"], service["destination_port"]) == (80, 8000)
    (check,) = service["health_check"]
    assert check["http"][0]["path"] == "/health" and check["port"] == 8000
    assert module.output("endpoint_url") == f"http://{balancer['ipv4']}"

    module.apply("server_count=1")
    assert list(module.held("hcloud_server")) == [first_id] and not module.held("hcloud_load_balancer")
    assert not module.held("hcloud_load_balancer_target") and not module.held("hcloud_load_balancer_service")
    assert module.output("endpoint_url") == f"http://{first['ipv4_address']}:8000"
    module.destroy()
    assert module.cloud()["resources"] == {}


def test_a_redeploy_replaces_the_server_and_attaches_the_same_data_volume_to_the_new_one(
        marketplace, plugins, tmp_path):
    module = Module(marketplace / OWNS_DATA / "terraform", tmp_path / "module", plugins)
    module.apply()
    (volume_id, volume), = module.held("hcloud_volume").items()
    (old_server_id, old_server), = module.held("hcloud_server").items()
    assert volume["size"] == 10 and volume["format"] == "ext4" and volume["name"] == f"{OWNS_DATA}-test-data"
    # The server's boot script mounts that volume's device at /var/lib/vso-data.
    assert f'{volume["linux_device"]} /var/lib/vso-data ext4' in old_server["user_data"]
    mark = len(module.cloud()["log"])
    module.apply("git_ref=4567def")  # the next tested commit: a new server, the same volume
    done = module.done_since(mark)
    assert ("delete", "hcloud_server", old_server_id) in done and not [d for d in done if d[1] == "hcloud_volume"]
    (server_id, server), = module.held("hcloud_server").items()
    (attachment,) = module.held("hcloud_volume_attachment").values()
    assert (attachment["server_id"], attachment["volume_id"]) == (int(server_id), int(volume_id))
    assert "4567def" in server["user_data"] and module.output("endpoint_url") == f"http://{server['ipv4_address']}:8000"
    module.destroy()
    assert module.cloud()["resources"] == {}  # `vso destroy` deletes the volume with the rest
