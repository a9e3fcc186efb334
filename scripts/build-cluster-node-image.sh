#!/usr/bin/env bash
# Build the Swarm node image `make cluster-up` runs three of (cluster/Dockerfile.node: Debian
# trixie's Docker Engine 26). Where a registry answers, its base is debian:trixie-slim; where none
# does (ZERODROP_REGISTRY=no in .env, written by scripts/setup.sh), a trixie root is debootstrapped
# and imported first, and passed as BASE_IMAGE: the Dockerfile stays the ordinary one.
# Idempotent: an image that exists is kept (FORCE=1 rebuilds).
#
# Knobs (environment): CLUSTER_NODE_IMAGE (default zerodrop/swarm-node:26.1), DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER_NODE_IMAGE="${CLUSTER_NODE_IMAGE:-zerodrop/swarm-node:26.1}"
OFFLINE_TRIXIE_IMAGE="${OFFLINE_TRIXIE_IMAGE:-zerodrop/debian-base:trixie}"
ENV_FILE="${ENV_FILE:-.env}"

say() { printf 'cluster-image: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
have_image() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }
env_value() { grep -E "^$1=" "$ENV_FILE" 2>/dev/null | tail -n 1 | cut -d= -f2- || true; }

if have_image "$CLUSTER_NODE_IMAGE"; then
  say "$CLUSTER_NODE_IMAGE already built"
  exit 0
fi

base=debian:trixie-slim
if [ "$(env_value ZERODROP_REGISTRY)" = no ]; then
  base="$OFFLINE_TRIXIE_IMAGE"
  if ! have_image "$base"; then
    mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    rootfs="$(mktemp -d /tmp/zerodrop-trixie.XXXXXX)"
    trap 'as_root rm -rf "$rootfs"' EXIT
    say "debootstrap trixie (minbase) into $rootfs from $mirror"
    as_root debootstrap --variant=minbase trixie "$rootfs" "$mirror" >/tmp/zerodrop-debootstrap-trixie.log 2>&1 \
      || { tail -n 20 /tmp/zerodrop-debootstrap-trixie.log >&2; exit 1; }
    as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    say "importing $base"
    as_root tar -C "$rootfs" -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' - "$base" >/dev/null
  fi
fi
say "building $CLUSTER_NODE_IMAGE from $base (apt-get install docker.io docker-cli ...)"
DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE_IMAGE=$base" \
  -f cluster/Dockerfile.node -t "$CLUSTER_NODE_IMAGE" cluster >/tmp/zerodrop-cluster-image.log 2>&1 \
  || { tail -n 30 /tmp/zerodrop-cluster-image.log >&2; exit 1; }
say "built $CLUSTER_NODE_IMAGE ($(docker image inspect -f '{{.Size}}' "$CLUSTER_NODE_IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
