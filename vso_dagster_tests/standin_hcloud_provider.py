"""STAND-IN for the Hetzner Cloud Terraform provider (hetznercloud/hcloud), whose download and API
cannot be reached here. Terraform runs it as it runs the real one: a plugin process speaking
Terraform's plugin protocol 6 over gRPC with mutual TLS. So `terraform init`, `validate`, `plan`,
`apply` and `destroy` run unchanged on the module VSO generates.

What is real here is the schema: each resource the generated module uses is declared with every
attribute and block the real provider has (as `terraform providers schema -json` gives them for
hcloud 1.44), with the same types, required/optional/computed marks and the attributes whose change
replaces the resource. Terraform checks the module against it, as it would against the real one.

What stands in is the cloud: created resources are kept in a JSON file (HCLOUD_STANDIN_CLOUD), with
ids counted up, addresses from 203.0.113.0/24 (TEST-NET-3) and a log of every create, update and
delete, so a test can ask what the cloud holds and what was done to it. A token that is not 64
characters is refused, as Hetzner's provider refuses it; the token is never written anywhere.

It runs in a virtualenv of its own (`make standins`): the `tf` package, whose generated protocol
stubs it uses, needs protobuf < 6 and Dagster needs protobuf 6."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import msgpack
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from msgpack.ext import ExtType
from tf.gen import grpc_controller_pb2 as controller_pb
from tf.gen import grpc_controller_pb2_grpc as controller_rpc
from tf.gen import tfplugin_pb2 as pb
from tf.gen import tfplugin_pb2_grpc as rpc

MAGIC_COOKIE = ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")

S, N, B = "string", "number", "bool"
LIST_S, SET_S, SET_N, MAP_S = ["list", "string"], ["set", "string"], ["set", "number"], ["map", "string"]
REQ, OPT, COMP, OPT_COMP = "required", "optional", "computed", "optional computed"


def block(attributes: dict[str, tuple], blocks: dict[str, tuple] | None = None) -> dict:
    """attributes: name -> (type, mode[, "sensitive"|"deprecated"]); blocks: name -> (nesting, block, max_items)."""
    return {"attributes": attributes, "blocks": blocks or {}}


ID = {"id": (S, OPT_COMP)}
PROVIDER = block({"endpoint": (S, OPT), "poll_interval": (S, OPT), "token": (S, OPT, "sensitive")})

# name -> (schema block, attributes whose change replaces the resource)
RESOURCES: dict[str, tuple[dict, set[str]]] = {
    "hcloud_firewall": (block(
        {**ID, "labels": (MAP_S, OPT_COMP), "name": (S, REQ)},
        {"apply_to": ("set", block({"label_selector": (S, OPT_COMP), "server": (N, OPT_COMP)}), 0),
         "rule": ("set", block({"description": (S, OPT), "destination_ips": (SET_S, OPT), "direction": (S, REQ),
                                "port": (S, OPT), "protocol": (S, REQ), "source_ips": (SET_S, OPT)}), 0)}),
        set()),
    "hcloud_ssh_key": (block(
        {**ID, "fingerprint": (S, COMP), "labels": (MAP_S, OPT), "name": (S, REQ), "public_key": (S, REQ)}),
        {"public_key"}),
    "hcloud_server": (block(
        {**ID, "allow_deprecated_images": (B, OPT), "backup_window": (S, COMP, "deprecated"), "backups": (B, OPT),
         "datacenter": (S, OPT_COMP), "delete_protection": (B, OPT), "firewall_ids": (SET_N, OPT_COMP),
         "ignore_remote_firewall_ids": (B, OPT), "image": (S, OPT), "ipv4_address": (S, COMP),
         "ipv6_address": (S, COMP), "ipv6_network": (S, COMP), "iso": (S, OPT), "keep_disk": (B, OPT),
         "labels": (MAP_S, OPT), "location": (S, OPT_COMP), "name": (S, REQ), "placement_group_id": (N, OPT),
         "rebuild_protection": (B, OPT), "rescue": (S, OPT), "server_type": (S, REQ),
         "shutdown_before_deletion": (B, OPT), "ssh_keys": (LIST_S, OPT), "status": (S, COMP),
         "user_data": (S, OPT)},
        {"network": ("set", block({"alias_ips": (SET_S, OPT_COMP), "ip": (S, OPT_COMP), "mac_address": (S, COMP),
                                   "network_id": (N, REQ)}), 0),
         "public_net": ("set", block({"ipv4": (N, OPT_COMP), "ipv4_enabled": (B, OPT), "ipv6": (N, OPT_COMP),
                                      "ipv6_enabled": (B, OPT)}), 0),
         "timeouts": ("single", block({"create": (S, OPT)}), 0)}),
        {"image", "location", "datacenter", "user_data", "ssh_keys"}),
    "hcloud_volume": (block(
        {**ID, "automount": (B, OPT), "delete_protection": (B, OPT), "format": (S, OPT), "labels": (MAP_S, OPT),
         "linux_device": (S, COMP), "location": (S, OPT_COMP), "name": (S, REQ), "server_id": (N, OPT_COMP),
         "size": (N, REQ)}),
        {"location", "format"}),
    "hcloud_volume_attachment": (block(
        {**ID, "automount": (B, OPT_COMP), "server_id": (N, REQ), "volume_id": (N, REQ)}),
        {"server_id", "volume_id"}),
    "hcloud_load_balancer": (block(
        {**ID, "delete_protection": (B, OPT), "ipv4": (S, COMP), "ipv6": (S, COMP), "labels": (MAP_S, OPT_COMP),
         "load_balancer_type": (S, REQ), "location": (S, OPT_COMP), "name": (S, REQ), "network_id": (N, COMP),
         "network_ip": (S, COMP), "network_zone": (S, OPT_COMP)},
        {"algorithm": ("list", block({"type": (S, OPT_COMP)}), 1),
         "target": ("set", block({"server_id": (N, OPT), "type": (S, REQ),
                                  "use_private_ip": (B, OPT, "deprecated")}), 0)}),
        {"location", "network_zone"}),
    "hcloud_load_balancer_target": (block(
        {**ID, "ip": (S, OPT), "label_selector": (S, OPT), "load_balancer_id": (N, REQ), "server_id": (N, OPT),
         "type": (S, REQ), "use_private_ip": (B, OPT_COMP)}),
        {"type", "load_balancer_id", "server_id", "ip", "label_selector"}),
    "hcloud_load_balancer_service": (block(
        {**ID, "destination_port": (N, OPT_COMP), "listen_port": (N, OPT_COMP), "load_balancer_id": (S, REQ),
         "protocol": (S, REQ), "proxyprotocol": (B, OPT_COMP)},
        {"health_check": ("list", block(
            {"interval": (N, REQ), "port": (N, REQ), "protocol": (S, REQ), "retries": (N, OPT_COMP),
             "timeout": (N, REQ)},
            {"http": ("list", block({"domain": (S, OPT), "path": (S, OPT), "response": (S, OPT),
                                     "status_codes": (LIST_S, OPT), "tls": (B, OPT)}), 1)}), 1),
         "http": ("list", block({"certificates": (SET_N, OPT_COMP), "cookie_lifetime": (N, OPT_COMP),
                                 "cookie_name": (S, OPT_COMP), "redirect_http": (B, OPT_COMP),
                                 "sticky_sessions": (B, OPT_COMP)}), 1)}),
        {"load_balancer_id", "listen_port"}),
}

NESTING = {"single": pb.Schema.NestedBlock.SINGLE, "list": pb.Schema.NestedBlock.LIST,
           "set": pb.Schema.NestedBlock.SET}


def schema_block(spec: dict) -> pb.Schema.Block:
    attributes = []
    for name, (kind, mode, *flags) in sorted(spec["attributes"].items()):
        attributes.append(pb.Schema.Attribute(
            name=name, type=json.dumps(kind).encode(), required="required" in mode, optional="optional" in mode,
            computed="computed" in mode, sensitive="sensitive" in flags, deprecated="deprecated" in flags))
    nested = [pb.Schema.NestedBlock(type_name=name, block=schema_block(inner), nesting=NESTING[nesting],
                                    max_items=max_items)
              for name, (nesting, inner, max_items) in sorted(spec["blocks"].items())]
    return pb.Schema.Block(attributes=attributes, block_types=nested)


class Unknown:
    """A value Terraform will know only after apply (msgpack extension 0)."""


UNKNOWN = Unknown()


def decode(value: pb.DynamicValue) -> Any:
    if value.json:
        return json.loads(value.json)
    if not value.msgpack:
        return None
    return msgpack.unpackb(value.msgpack, ext_hook=lambda code, data: UNKNOWN if code == 0 else ExtType(code, data))


def encode(value: Any) -> pb.DynamicValue:
    return pb.DynamicValue(msgpack=msgpack.packb(
        value, default=lambda v: ExtType(0, b"\x00") if v is UNKNOWN else v))


def error(summary: str) -> list[pb.Diagnostic]:
    return [pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary)]


class Cloud:
    """The stand-in's record of what exists in the cloud, shared by every provider process of a run."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def _held(self) -> Iterator[dict]:
        """The record, under a lock no other provider process gets meanwhile."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield (json.loads(self.path.read_text()) if self.path.exists()
                   else {"next_id": 1, "resources": {}, "log": []})

    def change(self, edit: Callable[[dict], Any]) -> Any:
        """edit(record)'s answer, the record saved after it (atomically)."""
        with self._held() as data:
            result = edit(data)
            staged = self.path.with_suffix(".tmp")
            staged.write_text(json.dumps(data, indent=1, sort_keys=True))
            staged.replace(self.path)
            return result

    def read(self, type_name: str, resource_id: str) -> dict | None:
        with self._held() as data:
            return data["resources"].get(f"{type_name}/{resource_id}")


def made_value(name: str, kind: Any, resource_id: int, state: dict) -> Any:
    """What the cloud answers for an attribute it computes."""
    if name == "id":
        return str(resource_id)
    made = {"ipv4_address": f"203.0.113.{resource_id % 250 + 1}", "ipv4": f"203.0.113.{resource_id % 250 + 1}",
            "ipv6_address": f"2001:db8::{resource_id}", "ipv6": f"2001:db8::{resource_id}",
            "ipv6_network": "2001:db8::/64", "status": "running", "location": "nbg1", "datacenter": "nbg1-dc3",
            "network_zone": "eu-central", "linux_device": f"/dev/disk/by-id/scsi-0HC_Volume_{resource_id}",
            "fingerprint": "stand-in", "backup_window": "", "server_id": None, "network_id": None,
            "network_ip": None}
    if name in made:
        return made[name]
    if name == "listen_port":
        return {"http": 80, "https": 443}.get(state.get("protocol"), 0)
    if name == "destination_port":
        return {"http": 80, "https": 80}.get(state.get("protocol"), 0)
    if isinstance(kind, str):
        return {S: "", N: 0, B: False}[kind]
    return {} if kind[0] == "map" else []


class HcloudStandin(rpc.ProviderServicer):
    """Terraform's calls, answered the way a provider built on Hashicorp's SDK answers them: a new
    resource's computed attributes are unknown until apply, a changed attribute in `replacing` plans a
    replacement, and reads report what the stand-in cloud holds (nothing, once deleted)."""

    def __init__(self, cloud: Cloud):
        self.cloud = cloud

    def GetMetadata(self, request, context):
        return pb.GetMetadata.Response(
            resources=[pb.GetMetadata.ResourceMetadata(type_name=name) for name in RESOURCES])

    def GetProviderSchema(self, request, context):
        return pb.GetProviderSchema.Response(
            provider=pb.Schema(block=schema_block(PROVIDER)),
            resource_schemas={name: pb.Schema(block=schema_block(spec)) for name, (spec, _) in RESOURCES.items()})

    def ValidateProviderConfig(self, request, context):
        return pb.ValidateProviderConfig.Response()

    def ValidateResourceConfig(self, request, context):
        return pb.ValidateResourceConfig.Response()

    def ConfigureProvider(self, request, context):
        token = (decode(request.config) or {}).get("token")
        if token is UNKNOWN:
            return pb.ConfigureProvider.Response()
        if not token or len(token) != 64:
            return pb.ConfigureProvider.Response(diagnostics=error(
                "entered token is invalid (must be exactly 64 characters long)"))
        return pb.ConfigureProvider.Response()

    def UpgradeResourceState(self, request, context):
        return pb.UpgradeResourceState.Response(upgraded_state=encode(json.loads(request.raw_state.json)))

    def ReadResource(self, request, context):
        current = decode(request.current_state)
        held = self.cloud.read(request.type_name, current["id"])
        return pb.ReadResource.Response(new_state=encode(held), private=request.private)

    def PlanResourceChange(self, request, context):
        spec, replacing = RESOURCES[request.type_name]
        prior, proposed = decode(request.prior_state), decode(request.proposed_new_state)
        if proposed is None:
            return pb.PlanResourceChange.Response(planned_state=request.proposed_new_state)
        attributes = spec["attributes"]
        if prior is None:
            planned = {name: (UNKNOWN if value is None and "computed" in attributes[name][1] else value)
                       if name in attributes else value for name, value in proposed.items()}
            return pb.PlanResourceChange.Response(planned_state=encode(planned))
        changed = [name for name in sorted(replacing) if proposed.get(name) != prior.get(name)]
        return pb.PlanResourceChange.Response(
            planned_state=encode(proposed),
            requires_replace=[pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=name)])
                              for name in changed])

    def ApplyResourceChange(self, request, context):
        type_name = request.type_name
        prior, planned = decode(request.prior_state), decode(request.planned_state)
        spec = RESOURCES[type_name][0]["attributes"]

        def apply(data: dict) -> dict | None:
            if planned is None:
                data["resources"].pop(f"{type_name}/{prior['id']}", None)
                data["log"].append({"op": "delete", "type": type_name, "id": prior["id"], "name": prior.get("name")})
                return None
            resource_id = int(prior["id"]) if prior else data["next_id"]
            if prior is None:
                data["next_id"] += 1
            state = {name: made_value(name, spec[name][0], resource_id, planned)
                     if value is UNKNOWN else value for name, value in planned.items()}
            data["resources"][f"{type_name}/{state['id']}"] = state
            data["log"].append({"op": "update" if prior else "create", "type": type_name, "id": state["id"],
                                "name": state.get("name")})
            return state

        return pb.ApplyResourceChange.Response(new_state=encode(self.cloud.change(apply)),
                                               private=request.planned_private)

    def ImportResourceState(self, request, context):
        held = self.cloud.read(request.type_name, request.id)
        if held is None:
            return pb.ImportResourceState.Response(diagnostics=error(f"{request.type_name} {request.id} not found"))
        return pb.ImportResourceState.Response(imported_resources=[
            pb.ImportResourceState.ImportedResource(type_name=request.type_name, state=encode(held))])

    def StopProvider(self, request, context):
        return pb.StopProvider.Response()


class Controller(controller_rpc.GRPCControllerServicer):
    def __init__(self, stopped):
        self.stopped = stopped

    def Shutdown(self, request, context):
        self.stopped.set()
        return controller_pb.Empty()


def self_signed() -> tuple[bytes, bytes, bytes]:
    """(certificate DER, certificate PEM, key PEM) for this process's TLS, as go-plugin's AutoMTLS wants."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return (certificate.public_bytes(serialization.Encoding.DER), certificate.public_bytes(serialization.Encoding.PEM),
            key_pem)


def main() -> int:
    if os.environ.get(MAGIC_COOKIE[0]) != MAGIC_COOKIE[1]:
        print("This is a Terraform plugin (a stand-in for hetznercloud/hcloud): Terraform runs it.", file=sys.stderr)
        return 1
    cloud = Cloud(Path(os.environ.get("HCLOUD_STANDIN_CLOUD") or Path.cwd() / "hcloud-standin-cloud.json"))
    stopped = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    rpc.add_ProviderServicer_to_server(HcloudStandin(cloud), server)
    controller_rpc.add_GRPCControllerServicer_to_server(Controller(stopped), server)
    der, cert_pem, key_pem = self_signed()
    with tempfile.TemporaryDirectory(prefix="hcloud-standin-") as scratch:
        socket = f"{scratch}/plugin.sock"
        server.add_secure_port(f"unix://{socket}", grpc.ssl_server_credentials([(key_pem, cert_pem)]))
        server.start()
        print(f"1|6|unix|{socket}|grpc|{base64.b64encode(der).decode().rstrip('=')}", flush=True)
        stopped.wait()
        server.stop(grace=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
