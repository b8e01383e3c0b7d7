#!/bin/sh
# Podman as the Docker engine, on a Debian machine that has none (no dockerd) and reaches no image
# registry, so that `make image-test` can build the image and run a slice in it. It
#  - installs podman, runc and debootstrap from Debian, and serves Docker's API on $SOCKET;
#  - builds a stand-in for the Dockerfile's base image (Debian bookworm with Python 3.11, from
#    Debian's own mirror, trusting this machine's certificate authorities) as $BASE;
#  - serves the terraform on PATH as a release mirror on $MIRROR_PORT, since HashiCorp's site is
#    out of reach.
# Then it prints the make variables for `make image-test`. Run as root; running it again reuses
# what it made.
set -eu

SOCKET=/run/podman/podman.sock
BASE=localhost/python-3.11-bookworm-standin:latest
MIRROR_PORT=8765
WORK=${TMPDIR:-/tmp}/vso-podman-engine

command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null ||
  apt-get install -y --no-install-recommends podman runc debootstrap >&2

# Machines like this one let no process raise a limit (no CAP_SYS_RESOURCE) and mix cgroup v1 and
# v2, which crun refuses: containers keep limits below the host's and start through runc.
if [ ! -e /etc/containers/containers.conf ]; then
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'EOF'
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=32768:32768"]
[engine]
runtime = "runc"
EOF
fi

if ! podman image exists "$BASE"; then
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
    bookworm "$rootfs" http://deb.debian.org/debian >&2
  ln -sf python3 "$rootfs/usr/bin/python"
  rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED "$rootfs"/var/cache/apt/archives/*.deb
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  chroot "$rootfs" update-ca-certificates >&2
  tar -C "$rootfs" -c . | podman import - "$BASE" >&2
  rm -rf "$rootfs"
fi

version=$(terraform version -json | python3 -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])')
archive="$WORK/terraform/$version/terraform_${version}_linux_amd64.zip"
if [ ! -e "$archive" ]; then
  mkdir -p "$(dirname "$archive")"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED).write(sys.argv[2], "terraform")' \
    "$archive" "$(command -v terraform)"
fi
python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$MIRROR_PORT" 2>/dev/null ||
  setsid python3 -m http.server "$MIRROR_PORT" --bind 127.0.0.1 --directory "$WORK/terraform" >/dev/null 2>&1 &

if [ ! -S "$SOCKET" ]; then
  mkdir -p "$(dirname "$SOCKET")"
  setsid podman system service --time 0 "unix://$SOCKET" >"$WORK/service.log" 2>&1 &
  sleep 2
fi

echo "DOCKER=podman DOCKER_HOST=unix://$SOCKET IMAGE_BUILD_ARGS='--isolation chroot --network host" \
     "--build-arg BASE=$BASE --build-arg TERRAFORM_MIRROR=http://127.0.0.1:$MIRROR_PORT'"
